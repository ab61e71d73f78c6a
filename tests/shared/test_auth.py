from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.auth import CurrentPrincipal, InvalidToken, Operator, Role, decode_token, issue_token
from shared.problems import install_problem_handlers
from shared.settings import DEFAULT_JWT_SECRET, ServiceSettings

SECRET = DEFAULT_JWT_SECRET


def test_token_round_trip():
    token = issue_token(SECRET, firm_id="firm-b1", role="buyer", clusters=["qhd-auto"])
    principal = decode_token(SECRET, token)
    assert (principal.firm_id, principal.role, principal.clusters) == (
        "firm-b1", Role.BUYER, ("qhd-auto",))
    assert principal.may_use_cluster("qhd-auto") and not principal.may_use_cluster("other")


@pytest.mark.parametrize("make", [
    lambda: issue_token(SECRET, firm_id="f", role="buyer",
                        now=datetime.now(UTC) - timedelta(hours=2), ttl=timedelta(hours=1)),
    lambda: issue_token("x" * 40, firm_id="f", role="buyer"),
    lambda: jwt.encode({"sub": "f", "role": "buyer", "exp": 9999999999}, None, algorithm="none"),
    lambda: jwt.encode({"sub": "f", "role": "root", "exp": 9999999999}, SECRET, algorithm="HS256"),
    lambda: jwt.encode({"sub": "f", "role": "buyer"}, SECRET, algorithm="HS256"),
    lambda: jwt.encode({"sub": "f", "role": "buyer", "exp": 9999999999, "clusters": "a"},
                       SECRET, algorithm="HS256"),
], ids=["expired", "wrong-secret", "alg-none", "unknown-role", "no-exp", "clusters-not-list"])
def test_bad_tokens_are_refused(make):
    with pytest.raises(InvalidToken):
        decode_token(SECRET, make())


def test_a_verified_token_is_not_verified_again_until_it_expires(monkeypatch):
    issued = datetime.now(UTC)
    token = issue_token(SECRET, firm_id="firm-cache", role="buyer", now=issued,
                        ttl=timedelta(minutes=5))
    calls = []
    real = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert decode_token(SECRET, token).firm_id == "firm-cache"
    assert decode_token(SECRET, token).firm_id == "firm-cache"
    assert len(calls) == 1
    expires = int((issued + timedelta(minutes=5)).timestamp())
    assert decode_token(SECRET, token, now=expires - 1).firm_id == "firm-cache"
    with pytest.raises(InvalidToken, match="expired"):
        decode_token(SECRET, token, now=expires)
    with pytest.raises(InvalidToken):  # remembered under its secret only
        decode_token("y" * 40, token)


def test_a_refused_token_is_checked_again_each_time(monkeypatch):
    token = issue_token("x" * 40, firm_id="f", role="buyer")
    calls = []
    real = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: calls.append(1) or real(*a, **k))
    for _ in range(2):
        with pytest.raises(InvalidToken):
            decode_token(SECRET, token)
    assert len(calls) == 2
    assert decode_token("x" * 40, token).firm_id == "f"


def test_default_secret_refused_outside_development():
    with pytest.raises(ValueError, match="development default"):
        ServiceSettings(environment="production")
    with pytest.raises(ValueError, match="32 bytes"):
        ServiceSettings(jwt_secret="short")
    settings = ServiceSettings(environment="production", jwt_secret="s" * 32)
    assert settings.environment == "production"


def _app() -> TestClient:
    app = FastAPI()
    app.state.settings = ServiceSettings()
    install_problem_handlers(app)

    @app.get("/me")
    def me(principal: CurrentPrincipal) -> dict:
        return {"firm": principal.firm_id}

    @app.get("/ops")
    def ops(principal: Operator) -> dict:
        return {"firm": principal.firm_id}

    return TestClient(app)


def _auth(role: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_token(SECRET, firm_id="f1", role=role)}


def test_routes_answer_401_without_a_valid_token_and_403_for_the_wrong_role():
    client = _app()
    missing = client.get("/me")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/me", headers=_auth("buyer")).json() == {"firm": "f1"}
    forbidden = client.get("/ops", headers=_auth("buyer"))
    assert forbidden.status_code == 403 and forbidden.json()["status"] == 403
    assert client.get("/ops", headers=_auth("operator")).status_code == 200
