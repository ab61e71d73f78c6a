"""API2 (authentication) and API5 (function-level authorisation) on every route of the three
services, derived from the routes themselves: a new route is checked without editing this file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from services.capacity.config import Settings as CapacitySettings
from services.matcher.config import Settings as MatcherSettings
from services.orders.config import Settings as OrdersSettings
from shared.auth import Role, issue_token
from shared.settings import DEFAULT_JWT_SECRET
from tests.security.routes import endpoints

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
FAR = 9_999_999_999


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


BAD_TOKENS = {
    "missing": {},
    "not a JWT": _bearer("x.y.z"),
    "basic scheme": {"Authorization": "Basic " + issue_token(DEFAULT_JWT_SECRET, firm_id="f",
                                                             role="operator")},
    "expired": _bearer(issue_token(DEFAULT_JWT_SECRET, firm_id="platform", role="operator",
                                   now=datetime.now(UTC) - timedelta(hours=2),
                                   ttl=timedelta(hours=1))),
    "wrongly signed": _bearer(issue_token("another-secret-of-at-least-32-bytes!!",
                                          firm_id="platform", role="operator")),
    "alg none": _bearer(jwt.encode({"sub": "platform", "role": "operator", "exp": FAR}, None,
                                   algorithm="none")),
    "unknown role": _bearer(jwt.encode({"sub": "platform", "role": "admin", "exp": FAR},
                                       DEFAULT_JWT_SECRET, algorithm="HS256")),
    "no expiry": _bearer(jwt.encode({"sub": "platform", "role": "operator"},
                                    DEFAULT_JWT_SECRET, algorithm="HS256")),
    "empty sub": _bearer(jwt.encode({"sub": "", "role": "operator", "exp": FAR},
                                    DEFAULT_JWT_SECRET, algorithm="HS256")),
}
TOKENS = {role: _bearer(issue_token(DEFAULT_JWT_SECRET, firm_id=f"firm-{role.value}",
                                    role=role, clusters=["qhd-auto"])) for role in Role}
SERVICES = ("orders", "capacity", "matcher")


def test_every_route_under_v1_needs_a_token(clients: dict[str, TestClient]) -> None:
    anonymous = [f"{name}: {e}" for name in SERVICES
                 for e in endpoints(clients[name].app) if e.roles is None]
    assert anonymous == []


@pytest.mark.parametrize("service", SERVICES)
def test_bad_tokens_get_401_on_every_route(clients: dict[str, TestClient], service: str) -> None:
    client = clients[service]
    checked = 0
    for endpoint in endpoints(client.app):
        for kind, headers in BAD_TOKENS.items():
            response = client.request(endpoint.method, endpoint.url(), headers=headers)
            assert response.status_code == 401, (str(endpoint), kind, response.text)
            assert response.headers["content-type"] == PROBLEM
            assert response.headers["www-authenticate"].startswith("Bearer")
            checked += 1
    assert checked >= 5 * len(BAD_TOKENS)


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_refuses_the_roles_it_does_not_allow(clients: dict[str, TestClient],
                                                        service: str) -> None:
    client = clients[service]
    refused = 0
    for endpoint in endpoints(client.app):
        assert endpoint.roles, f"{endpoint} allows no role at all"
        for role in set(Role) - endpoint.roles:
            response = client.request(endpoint.method, endpoint.url(), headers=TOKENS[role])
            assert response.status_code == 403, (str(endpoint), role, response.text)
            assert response.headers["content-type"] == PROBLEM
            refused += 1
    assert refused > 0


# What only the platform operator may do (issue 7, API5). The matcher's GET /v1/stats is
# added here once that route exists (another branch builds it).
OPERATOR_ONLY = {
    "capacity": {"POST /v1/clusters", "POST /v1/factories/{factory_id}/tier-verification",
                 "GET /v1/audit"},
    "orders": {"GET /v1/audit"},
    "matcher": {"GET /v1/match-runs", "POST /v1/match-runs", "GET /v1/match-runs/{run_id}",
                "POST /v1/match-runs/{run_id}/replay", "GET /v1/partitions", "GET /v1/stats",
                "GET /v1/stats/series"},
}


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_operator_verifies_tiers_creates_clusters_plans_replays_and_audits(
    clients: dict[str, TestClient], service: str
) -> None:
    operator_only = {str(e) for e in endpoints(clients[service].app)
                     if e.roles == {Role.OPERATOR}}
    assert operator_only >= OPERATOR_ONLY[service]
    for name in operator_only:  # each answers 403 to a buyer and a supplier, and changes nothing
        method, path = name.split(" ")
        for role in (Role.BUYER, Role.SUPPLIER):
            response = clients[service].request(method, path.replace("{", "").replace("}", ""),
                                                headers=TOKENS[role], json={})
            assert response.status_code == 403, (name, role, response.text)


@pytest.mark.parametrize("settings_cls", [OrdersSettings, CapacitySettings, MatcherSettings])
@pytest.mark.parametrize("environment", ["test", "production"])
def test_each_service_refuses_the_default_secret_outside_development(
    settings_cls: type, environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.setenv("SHAREFAB_ENV", environment)
    with pytest.raises(ValueError, match="development default"):
        settings_cls()
    monkeypatch.setenv("JWT_SECRET", "s" * 32)
    assert settings_cls().environment == environment
    monkeypatch.setenv("JWT_SECRET", "short")
    with pytest.raises(ValueError, match="32 bytes"):
        settings_cls()
