"""API4 unrestricted resource consumption: body size (413), pagination caps (422) and per-firm
rate limits (429 with Retry-After), on all three services. (Batch and CSV row limits: see
tests/orders/integration/test_batch.py, 1,001 orders → 422, and
tests/capacity/integration/test_window_import.py, 10,001 rows → 422.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.orders.config import Settings as OrdersSettings
from shared.limits import RateLimiter, parse_rate_limit
from shared.settings import ServiceSettings
from tests.capacity.integration import flows
from tests.helpers import bearer
from tests.security.conftest import CLUSTER, World, make_clients
from tests.security.test_object_access import _state

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
MiB = 1024 * 1024
BUYER = bearer("firm-b1", "buyer", CLUSTER)
# One POST with a JSON body per service, with a token allowed to call it.
POSTS = {"orders": ("/v1/orders", BUYER), "capacity": ("/v1/factories", flows.SUP),
         "matcher": ("/v1/match-runs", flows.OP)}


def _json_of(size: int) -> bytes:
    return b'{"title": "' + b"a" * (size - 13) + b'"}'


@pytest.mark.parametrize("service", ["orders", "capacity", "matcher"])
def test_a_body_over_2_mib_is_413_and_changes_nothing(clients: dict[str, TestClient],
                                                      world: World, service: str) -> None:
    client, (path, headers) = clients[service], POSTS[service]
    before = _state(client.app)
    json_headers = headers | {"Content-Type": "application/json"}
    big = client.post(path, headers=json_headers, content=_json_of(2 * MiB + 1))
    assert big.status_code == 413, big.text[:300]
    assert big.headers["content-type"] == PROBLEM
    assert big.json()["detail"] == f"the request body is larger than {2 * MiB} bytes"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it is read
        body = _json_of(3 * MiB)
        for start in range(0, len(body), 256 * 1024):
            yield body[start:start + 256 * 1024]

    streamed = client.post(path, headers=json_headers, content=chunks())
    assert streamed.status_code == 413, streamed.text[:300]
    assert streamed.headers["content-type"] == PROBLEM
    just_under = client.post(path, headers=json_headers, content=_json_of(2 * MiB))
    assert just_under.status_code == 422  # read and judged: the limit is where it says
    assert _state(client.app) == before


def test_a_route_without_a_body_still_refuses_a_huge_one(clients: dict[str, TestClient],
                                                         world: World) -> None:
    response = clients["capacity"].post(
        f"/v1/reservations/{world.reservation_id}/accept", headers=flows.SUP,
        content=b"x" * (3 * MiB), )
    assert response.status_code == 413 and response.headers["content-type"] == PROBLEM
    reservation = clients["capacity"].get(f"/v1/reservations/{world.reservation_id}",
                                          headers=flows.SUP).json()
    assert reservation["status"] == "held"


def test_the_csv_import_takes_up_to_its_own_larger_limit(clients: dict[str, TestClient],
                                                         world: World) -> None:
    capacity = clients["capacity"]
    csv = {"Content-Type": "text/csv"}
    header = b"machine_id,start,end,hours\n"
    row = f"{world.machine_id},2031-01-01T00:00:00Z,2031-01-02T00:00:00Z,oops\n".encode()
    three_mib = header + row * (3 * MiB // len(row))  # over 2 MiB, under the file limit
    judged = capacity.post("/v1/windows:import", headers=flows.SUP | csv, content=three_mib)
    assert judged.status_code == 422, judged.text[:300]  # read and judged row by row
    over = capacity.post("/v1/windows:import", headers=flows.SUP | csv,
                         content=header + row * (9 * MiB // len(row)))
    assert over.status_code == 413 and over.headers["content-type"] == PROBLEM
    doc = capacity.get("/openapi.json").json()
    assert doc["paths"]["/v1/windows:import"]["post"]["x-max-body-bytes"] > 8 * MiB


@pytest.mark.parametrize("service", ["orders", "capacity", "matcher"])
def test_every_paged_list_caps_its_limit(clients: dict[str, TestClient], world: World,
                                         service: str) -> None:
    """Read from the OpenAPI document: each GET with a cursor has a bounded ``limit``, and
    one more than the bound (or 0) is 422."""
    client = clients[service]
    ids = {"order_id": world.order_id, "machine_id": world.machine_id}
    checked = 0
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        get = operations.get("get", {})
        params = {p["name"]: p for p in get.get("parameters", [])}
        if "cursor" not in params:
            continue
        schema = params["limit"]["schema"]
        assert 1 <= schema["maximum"] <= 500, (path, schema)
        url = path.format(**ids)
        for bad in (schema["maximum"] + 1, 0, -1):
            response = client.get(url, params={"limit": bad}, headers=flows.OP)
            assert response.status_code == 422, (path, bad, response.text)
            assert response.json()["errors"][0]["field"] == "query.limit"
        ok = client.get(url, params={"limit": schema["maximum"]}, headers=flows.OP)
        assert ok.status_code == 200, (path, ok.text)
        checked += 1
    assert checked >= {"orders": 3, "capacity": 4, "matcher": 1}[service]  # audit included


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    made = make_clients(tmp_path, rate_limit="5/minute")
    for client in made.values():
        client.__enter__()
    try:
        yield made
    finally:
        for client in made.values():
            client.__exit__(None, None, None)


@pytest.mark.parametrize(("service", "path"), [
    ("orders", "/v1/orders"), ("capacity", "/v1/clusters"), ("matcher", "/v1/match-runs")])
def test_a_firm_over_its_rate_limit_gets_429_with_retry_after(
    limited: dict[str, TestClient], service: str, path: str
) -> None:
    client = limited[service]
    firm_a = bearer("platform", "operator") if service == "matcher" else BUYER
    firm_b = bearer("platform-2", "operator") if service == "matcher" \
        else bearer("firm-b2", "buyer", CLUSTER)
    answers = [client.get(path, headers=firm_a) for _ in range(8)]
    codes = [a.status_code for a in answers]
    assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}, codes
    refused = answers[-1]
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["status"] == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert client.get(path, headers=firm_b).status_code == 200  # per firm, not global
    assert client.get("/healthz").status_code == 200  # health is never limited


def test_callers_without_a_valid_token_share_their_address_s_counter(
    limited: dict[str, TestClient]
) -> None:
    """A forged token's sub picks no counter: it is counted with the caller's address."""
    client = limited["orders"]
    forged = [bearer(f"firm-{n}", "buyer") for n in range(8)]
    codes = [client.get("/v1/orders", headers={"Authorization": h["Authorization"] + "x"}
                        ).status_code for h in forged]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes


def test_rate_limits_come_from_settings() -> None:
    assert [str(i) for i in parse_rate_limit("1000/second;50000/minute")] == [
        "1000 per 1 second", "50000 per 1 minute"]
    assert parse_rate_limit("") == []
    assert parse_rate_limit(ServiceSettings().rate_limit), "on by default"
    with pytest.raises(ValueError):
        OrdersSettings(rate_limit="lots")
    limiter = RateLimiter(parse_rate_limit("2/hour"))
    assert [limiter.hit("firm:a") for _ in range(2)] == [None, None]
    assert 1 <= limiter.hit("firm:a") <= 3600  # type: ignore[operator]
    assert limiter.hit("firm:b") is None


def test_the_default_limit_leaves_room_for_the_benchmarks() -> None:
    """100 orders/s sustained and bursts from 32 connections stay far below the default."""
    items = parse_rate_limit(ServiceSettings().rate_limit)
    per_second = min(i.amount / i.get_expiry() for i in items)
    assert per_second >= 500
