"""The audit log of capacity: tier verification, accept and decline each leave one row, written
in the change's own transaction, which the operator reads through GET /v1/audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.audit import SqlAuditLog
from tests.capacity.integration.flows import (
    OP,
    PROBLEM,
    SUP,
    SUP2,
    build_site,
    count,
    create_cluster,
    feed,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def site(client: TestClient):  # type: ignore[no-untyped-def]
    create_cluster(client)
    site = build_site(client, windows=2)
    feed(client.app, "ord-1", ("stp-1", site.window_ids[0], 6.0))
    feed(client.app, "ord-2", ("stp-2", site.window_ids[1], 4.0))
    return site


def _reservations(client: TestClient) -> dict[str, str]:
    """order id → reservation id"""
    items = client.get("/v1/reservations", headers=SUP).json()["items"]
    return {r["order_id"]: r["id"] for r in items}


def test_each_audited_change_leaves_one_row_with_who_what_when(
    client: TestClient, site  # type: ignore[no-untyped-def]
) -> None:
    started = datetime.now(UTC)
    rid = _reservations(client)
    assert client.post(f"/v1/factories/{site.factory_id}/tier-verification", headers=OP | {
        "X-Correlation-ID": "verify-1"}, json={"tier": "excellent"}).status_code == 200
    assert client.post(f"/v1/reservations/{rid['ord-1']}/accept",
                       headers=SUP | {"X-Correlation-ID": "accept-1"}).status_code == 200
    assert client.post(f"/v1/reservations/{rid['ord-2']}/decline", headers=SUP,
                       json={"reason": "maintenance"}).status_code == 200
    page = client.get("/v1/audit", headers=OP)
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert [(i["action"], i["actor"], i["role"], i["object_type"], i["object_id"])
            for i in items] == [
        ("reservation.declined", "firm-s1", "supplier", "reservation", rid["ord-2"]),
        ("reservation.accepted", "firm-s1", "supplier", "reservation", rid["ord-1"]),
        ("factory.tier_verified", "platform", "operator", "factory", site.factory_id)]
    declined, accepted, verified = items
    assert verified["detail"] == {"tier": "excellent", "previous_tier": None,
                                  "firm_id": "firm-s1"}
    assert accepted["detail"] == {"order_id": "ord-1", "step_id": "stp-1", "hours": 6.0}
    assert declined["detail"]["reason"] == "maintenance"
    assert (verified["correlation_id"], accepted["correlation_id"]) == ("verify-1", "accept-1")
    assert declined["correlation_id"]  # a new one, as the response header said
    for item in items:
        assert started - timedelta(seconds=5) <= datetime.fromisoformat(item["at"]) \
            <= datetime.now(UTC)


def test_a_refused_change_writes_no_row(client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    rid = _reservations(client)["ord-1"]
    assert client.post(f"/v1/reservations/{rid}/accept", headers=SUP2).status_code == 404
    assert client.post(f"/v1/reservations/{rid}/accept", headers=SUP).status_code == 200
    assert client.post(f"/v1/reservations/{rid}/decline", headers=SUP,
                       json={"reason": "changed my mind"}).status_code == 409
    assert client.post(f"/v1/factories/{site.factory_id}/tier-verification", headers=OP,
                       json={"tier": "legendary"}).status_code == 422
    assert count(client.app, "audit_log") == 1


def test_the_row_and_the_change_commit_together(
    app: FastAPI, client: TestClient, site, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    """If the audit row cannot be written, the tier is not verified either (and no event)."""
    def broken(self, entry):  # type: ignore[no-untyped-def]
        raise RuntimeError("audit store unavailable")

    outbox_before = count(app, "outbox")
    monkeypatch.setattr(SqlAuditLog, "add", broken)
    with pytest.raises(RuntimeError, match="audit store unavailable"):
        client.post(f"/v1/factories/{site.factory_id}/tier-verification", headers=OP,
                    json={"tier": "leading"})
    monkeypatch.undo()
    factory = client.get(f"/v1/factories/{site.factory_id}", headers=OP).json()
    assert factory["verified_tier"] is None
    assert count(app, "outbox") == outbox_before and count(app, "audit_log") == 0


def test_the_operator_filters_and_pages_the_log(client: TestClient, site) -> None:  # type: ignore[no-untyped-def]
    for tier in ("basic", "advanced", "excellent"):
        client.post(f"/v1/factories/{site.factory_id}/tier-verification", headers=OP,
                    json={"tier": tier})
    client.post(f"/v1/reservations/{_reservations(client)['ord-1']}/accept", headers=SUP)
    first = client.get("/v1/audit", params={"action": "factory.tier_verified", "limit": 2},
                       headers=OP).json()
    assert [i["detail"]["tier"] for i in first["items"]] == ["excellent", "advanced"]
    second = client.get("/v1/audit", params={"action": "factory.tier_verified", "limit": 2,
                                             "cursor": first["next_cursor"]}, headers=OP).json()
    assert [i["detail"]["tier"] for i in second["items"]] == ["basic"]
    assert second["next_cursor"] is None
    by_actor = client.get("/v1/audit", params={"actor": "firm-s1"}, headers=OP).json()["items"]
    assert [i["action"] for i in by_actor] == ["reservation.accepted"]
    by_object = client.get("/v1/audit", params={"object_id": site.factory_id},
                           headers=OP).json()["items"]
    assert len(by_object) == 3
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get("/v1/audit", params={"since": future}, headers=OP).json()["items"] == []
    assert len(client.get("/v1/audit", params={"until": future},
                          headers=OP).json()["items"]) == 4


def test_only_the_operator_reads_it_and_bad_filters_are_422(client: TestClient) -> None:
    for headers in (SUP,):
        response = client.get("/v1/audit", headers=headers)
        assert response.status_code == 403 and response.headers["content-type"] == PROBLEM
    for params in ({"action": "window.opened"}, {"cursor": "abc"}, {"limit": 201},
                   {"since": "yesterday"}):
        response = client.get("/v1/audit", params=params, headers=OP)
        assert response.status_code == 422, (params, response.text)
