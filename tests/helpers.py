"""Helpers for tests (``from tests.helpers import bearer``)."""

from __future__ import annotations

from shared.auth import Role, issue_token
from shared.settings import DEFAULT_JWT_SECRET


def make_token(firm: str, role: Role | str, *clusters: str) -> str:
    return issue_token(DEFAULT_JWT_SECRET, firm_id=firm, role=role, clusters=list(clusters))


def bearer(firm: str, role: Role | str, *clusters: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(firm, role, *clusters)}"}


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A Prometheus exposition as {(sample name, sorted labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(samples: dict, name: str, **labels: str) -> float | None:  # type: ignore[type-arg]
    return samples.get((name, tuple(sorted(labels.items()))))
