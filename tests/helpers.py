"""Helpers for tests (``from tests.helpers import bearer``)."""

from __future__ import annotations

from shared.auth import Role, issue_token
from shared.settings import DEFAULT_JWT_SECRET


def make_token(firm: str, role: Role | str, *clusters: str) -> str:
    return issue_token(DEFAULT_JWT_SECRET, firm_id=firm, role=role, clusters=list(clusters))


def bearer(firm: str, role: Role | str, *clusters: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(firm, role, *clusters)}"}
