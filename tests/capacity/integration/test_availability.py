"""GET /v1/availability: free hours per process × tier × ISO week, never a factory or firm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.capacity.domain.commands import OpenWindow
from services.capacity.domain.model import SUPPLIER, Actor
from services.capacity.service_layer.handlers import open_machine_window
from tests.capacity.integration.flows import (
    BUY,
    CLUSTER,
    OP,
    PROBLEM,
    SUP,
    SUP2,
    Site,
    add_window,
    build_site,
    create_cluster,
    feed,
)
from tests.helpers import bearer

pytestmark = pytest.mark.integration

MONDAY = datetime(2030, 1, 7, tzinfo=UTC)  # Monday of 2030-W02
SUP3 = bearer("firm-s3", "supplier", CLUSTER)


def _site(client: TestClient, headers: dict, *, name: str, process: str = "cnc_milling",
          start_h: float = 24, hours: float = 20.0) -> Site:
    """A factory with one machine and one 48-h window starting ``start_h`` after MONDAY."""
    site = build_site(client, windows=0, headers=headers, name=name, process=process)
    start = MONDAY + timedelta(hours=start_h)
    w = add_window(client, site.machine_id, start, start + timedelta(hours=48), hours,
                   headers=headers)
    site.window_ids.append(w["id"])
    return site


def _availability(client: TestClient, headers: dict = BUY, **params: str) -> dict:
    response = client.get("/v1/availability", headers=headers,
                          params={"cluster": CLUSTER} | params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def sites(client: TestClient) -> list[Site]:
    create_cluster(client)
    return [_site(client, SUP, name="Haigang Precision"),
            _site(client, SUP2, name="Beidaihe Castings")]


def test_fewer_than_three_factories_are_suppressed_three_are_shown(
    client: TestClient, sites: list[Site]
) -> None:
    assert _availability(client) == {"items": [], "suppressed_buckets": 1}
    sites.append(_site(client, SUP3, name="Shanhaiguan Tools"))
    assert _availability(client) == {"items": [{
        "process": "cnc_milling", "tier": "basic", "iso_week": "2030-W02",
        "free_hours": 60.0, "factories": 3}], "suppressed_buckets": 0}


def test_the_body_names_no_factory_machine_window_or_firm(client: TestClient,
                                                         sites: list[Site]) -> None:
    sites.append(_site(client, SUP3, name="Shanhaiguan Tools"))
    sites.append(_site(client, SUP, name="Haigang Second Plant", process="welding"))
    body = client.get("/v1/availability", headers=BUY, params={"cluster": CLUSTER}).text
    secrets = ["firm-s1", "firm-s2", "firm-s3", "Haigang", "Beidaihe", "Shanhaiguan"]
    secrets += [x for s in sites for x in (s.factory_id, s.machine_id, *s.window_ids)]
    assert [x for x in secrets if x in body] == []
    assert '"suppressed_buckets":1' in body.replace(" ", "")  # the welding bucket


def test_two_factories_of_one_firm_still_count_as_two(client: TestClient,
                                                      sites: list[Site]) -> None:
    _site(client, SUP, name="Haigang Second Plant")
    assert _availability(client)["items"][0]["factories"] == 3


def test_held_and_accepted_hours_are_not_free(app: FastAPI, client: TestClient,
                                              sites: list[Site]) -> None:
    _site(client, SUP3, name="Shanhaiguan Tools")
    feed(app, "ord-1", ("stp-1", sites[0].window_ids[0], 6.0))
    [rid] = [r["id"] for r in client.get("/v1/reservations", headers=SUP).json()["items"]]
    assert client.post(f"/v1/reservations/{rid}/accept", headers=SUP).status_code == 200
    feed(app, "ord-2", ("stp-2", sites[1].window_ids[0], 5.0))
    [bucket] = _availability(client)["items"]
    assert (bucket["free_hours"], bucket["factories"]) == (60.0 - 6.0 - 5.0, 3)
    feed(app, "ord-3", ("stp-3", sites[1].window_ids[0], 15.0))  # B has nothing free left
    assert _availability(client) == {"items": [], "suppressed_buckets": 1}
    _site(client, SUP2, name="Beidaihe Forge", start_h=72)
    [bucket] = _availability(client)["items"]
    assert (bucket["free_hours"], bucket["factories"]) == (14.0 + 20.0 + 20.0, 3)


def test_a_window_spanning_two_weeks_splits_its_free_hours(client: TestClient,
                                                           sites: list[Site]) -> None:
    # Saturday 12:00 → Tuesday 00:00 (60 h): 36 h in W02, 24 h in W03, so 3/5 and 2/5
    for headers, name in ((SUP, "A"), (SUP2, "B"), (SUP3, "C")):
        site = build_site(client, windows=0, headers=headers, name=name)
        add_window(client, site.machine_id, MONDAY + timedelta(days=5, hours=12),
                   MONDAY + timedelta(days=8), 30.0, headers=headers)
    items = _availability(client)["items"]
    assert [(b["iso_week"], b["free_hours"], b["factories"]) for b in items] == [
        ("2030-W02", 2 * 20.0 + 3 * 18.0, 5), ("2030-W03", 3 * 12.0, 3)]


def _verified(client: TestClient, headers: dict, name: str, tier: str) -> Site:
    site = _site(client, headers, name=name)
    assert client.post(f"/v1/factories/{site.factory_id}/tier-verification", headers=OP,
                       json={"tier": tier}).status_code == 200
    return site


def _shown(client: TestClient, **params: str) -> tuple[list[tuple[str, int]], int]:
    found = _availability(client, **params)
    return [(b["tier"], b["factories"]) for b in found["items"]], found["suppressed_buckets"]


def test_tier_is_the_verified_one_and_min_tier_filters(client: TestClient,
                                                       sites: list[Site]) -> None:
    # A and B declared "advanced", unverified: basic
    _site(client, SUP3, name="C")
    assert _shown(client) == ([("basic", 3)], 0)
    for site in sites:
        client.post(f"/v1/factories/{site.factory_id}/tier-verification", headers=OP,
                    json={"tier": "excellent"})
    assert _shown(client) == ([], 2)  # excellent: A, B; basic: C
    _site(client, SUP3, name="D")
    _site(client, SUP3, name="E")
    assert _shown(client) == ([("basic", 3)], 1)
    assert _shown(client, min_tier="advanced") == ([], 1)
    _verified(client, SUP2, "F", "excellent")
    _verified(client, SUP, "G", "leading")
    assert _shown(client, min_tier="excellent") == ([("excellent", 3)], 1)
    assert _shown(client, min_tier="leading") == ([], 1)
    assert _shown(client) == ([("basic", 3), ("excellent", 3)], 1)


def test_process_filter_and_ended_or_closed_windows(client: TestClient, app: FastAPI,
                                                    sites: list[Site]) -> None:
    third = _site(client, SUP3, name="C")
    for headers, name in ((SUP, "W1"), (SUP2, "W2"), (SUP3, "W3")):
        _site(client, headers, name=name, process="welding", hours=10.0)
    both = _availability(client)["items"]
    assert [(b["process"], b["free_hours"]) for b in both] == [
        ("cnc_milling", 60.0), ("welding", 30.0)]
    assert [b["process"] for b in _availability(client, process="welding")["items"]] == [
        "welding"]
    # a window that has ended does not count (opened back when it had not; the API refuses
    # one that has ended), a closed one neither
    past = datetime(2020, 1, 6, tzinfo=UTC)
    open_machine_window(OpenWindow(
        actor=Actor(firm_id="firm-s3", role=SUPPLIER, clusters=(CLUSTER,)),
        machine_id=third.machine_id, start=past, end=past + timedelta(hours=10), hours=5.0,
        at=past), app.state.runtime.uow_factory())
    assert client.delete(f"/v1/windows/{third.window_ids[0]}", headers=SUP3).status_code == 204
    assert _availability(client, process="cnc_milling") == {"items": [],
                                                            "suppressed_buckets": 1}


def test_the_operator_sees_any_cluster(client: TestClient, sites: list[Site]) -> None:
    assert _availability(client, OP)["suppressed_buckets"] == 1


@pytest.mark.parametrize(("params", "headers", "field"), [
    ({}, BUY, "query.cluster"),
    ({"cluster": "nowhere"}, BUY, "query.cluster"),
    ({"cluster": "other"}, BUY, "query.cluster"),            # exists, not in the token
    ({"cluster": CLUSTER}, bearer("firm-b1", "buyer"), "query.cluster"),
    ({"cluster": CLUSTER, "process": "alchemy"}, BUY, "query.process"),
    ({"cluster": CLUSTER, "min_tier": "golden"}, BUY, "query.min_tier"),
])
def test_invalid_queries_are_422_naming_the_field(client: TestClient, sites: list[Site],
                                                  params: dict, headers: dict,
                                                  field: str) -> None:
    create_cluster(client, "other")
    response = client.get("/v1/availability", headers=headers, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_suppliers_may_not_read_it(client: TestClient, sites: list[Site]) -> None:
    response = client.get("/v1/availability", headers=SUP, params={"cluster": CLUSTER})
    assert response.status_code == 403
