"""POST /v1/windows:import: a CSV body or multipart upload; all rows, or none and every bad row."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from tests.capacity.integration.flows import (
    BUY,
    OP,
    PROBLEM,
    SUP,
    SUP2,
    T0,
    Site,
    build_site,
    count,
    create_cluster,
    events,
    iso,
)

pytestmark = pytest.mark.integration

HEADER = "machine_id,start,end,hours"
CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def site(client: TestClient) -> Site:
    """One machine with one window [T0, T0+48h) of 20 h."""
    create_cluster(client)
    return build_site(client, windows=1)


def _csv(*rows: str) -> str:
    return "\n".join((HEADER, *rows)) + "\n"


def _row(machine_id: str, start_h: float, end_h: float, hours: float | str) -> str:
    return (f"{machine_id},{iso(T0 + timedelta(hours=start_h))},"
            f"{iso(T0 + timedelta(hours=end_h))},{hours}")


def _upload(client: TestClient, text: str, headers: dict = SUP):  # type: ignore[no-untyped-def]
    return client.post("/v1/windows:import", headers=headers | CSV, content=text.encode())


def _rejected(app: FastAPI, response) -> list[tuple]:  # type: ignore[no-untyped-def]
    """The (row, field, message) list of a 422; asserts that nothing was stored."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert count(app, "windows") == 1 and events(app, "window.opened")[1:] == []
    return [(e.get("row"), e["field"], e["message"]) for e in response.json()["errors"]]


def test_every_row_becomes_a_window_with_its_event(app: FastAPI, client: TestClient,
                                                   site: Site) -> None:
    m = site.machine_id
    response = _upload(client, _csv(_row(m, 48, 72, 10), _row(m, 72, 96, "12.5"),
                                    f"{m},2030-01-01T16:00:00+08:00,2030-01-02T08:00:00+08:00,3"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["imported"] == 3 and len(set(body["window_ids"])) == 3
    opened = events(app, "window.opened")[1:]
    assert [e.payload["window_id"] for e in opened] == body["window_ids"]
    assert {e.payload["hours"] for e in opened} == {10.0, 12.5, 3.0}
    assert all(e.key == "qhd-auto" and e.payload["factory_id"] == site.factory_id
               for e in opened)
    third = client.get(f"/v1/windows/{body['window_ids'][2]}", headers=SUP).json()
    assert third["start"] in ("2030-01-01T08:00:00Z", "2030-01-01T08:00:00+00:00")
    assert third["free_hours"] == 3.0
    assert count(app, "windows") == 4


def test_a_multipart_upload_works_too(app: FastAPI, client: TestClient, site: Site) -> None:
    text = _csv(_row(site.machine_id, 48, 72, 10)).encode()
    no_file = client.post("/v1/windows:import", headers=SUP,
                          files={"other": ("windows.csv", text, "text/csv")})
    assert _rejected(app, no_file) == [(None, "file", "the form has no field 'file'")]
    response = client.post("/v1/windows:import", headers=SUP,
                           files={"file": ("windows.csv", text, "text/csv")})
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == 1
    assert count(app, "windows") == 2


def test_a_form_with_too_many_fields_is_422_not_400(app: FastAPI, client: TestClient,
                                                    site: Site) -> None:
    """Found by schemathesis: the form parser's own 400 now reads like every other bad file."""
    text = _csv(_row(site.machine_id, 48, 72, 10)).encode()
    response = client.post("/v1/windows:import", headers=SUP,
                           data={f"f{n}": "x" for n in range(11)},
                           files={"file": ("windows.csv", text, "text/csv")})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "file"
    assert count(app, "windows") == 1


def test_every_bad_row_is_listed_and_nothing_is_stored(app: FastAPI, client: TestClient,
                                                       site: Site) -> None:
    m = site.machine_id
    foreign = build_site(client, windows=0, headers=SUP2).machine_id
    response = _upload(client, _csv(
        _row(m, 48, 60, 5),                              # 1 overlaps row 11
        _row("mac_nope", 60, 70, 5),                     # 2 unknown machine
        _row(foreign, 60, 70, 5),                        # 3 another firm's machine
        f"{m},yesterday,{iso(T0 + timedelta(hours=80))},5",  # 4 bad timestamp
        f"{m},2030-01-01T08:00:00,2030-01-01T10:00:00,1",    # 5 no time zone
        _row(m, 100, 100, 1),                            # 6 end = start
        _row(m, 110, 120, 0),                            # 7 hours ≤ 0
        _row(m, 120, 130, 10.5),                         # 8 hours > end − start
        _row(m, 130, 140, "lots"),                       # 9 hours not a number
        _row(m, 40, 47, 2),                              # 10 overlaps the existing window
        _row(m, 55, 65, 2),                              # 11 overlaps row 1
        f"{m},{iso(T0)}",                                # 12 too few fields
        _row(m, -72, -30, 5),                            # 13 ended yesterday
        _row(m, 200, 210, 5),                            # 14 fine
    ))
    errors = _rejected(app, response)
    assert [e[:2] for e in errors] == [
        (1, "row"), (2, "machine_id"), (3, "machine_id"), (4, "start"), (5, "start"), (5, "end"),
        (6, "end"), (7, "hours"), (8, "hours"), (9, "hours"), (10, "row"), (11, "row"),
        (12, "row"), (13, "end")]
    messages = {(row, field): message for row, field, message in errors}
    assert messages[(2, "machine_id")] == messages[(3, "machine_id")] == "unknown machine"
    assert foreign not in response.text and "firm-s2" not in response.text
    assert messages[(10, "row")].startswith(f"overlaps window {site.window_ids[0]}")
    assert messages[(11, "row")] == "overlaps row 1 on the same machine"
    assert messages[(1, "row")] == "overlaps row 11 on the same machine"
    assert "at most 10.0" in messages[(8, "hours")]
    assert "must be after start" in messages[(6, "end")]
    assert "must be in the future" in messages[(13, "end")]
    assert response.json()["detail"].startswith(
        "13 bad rows: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13;")


def test_rows_of_the_file_overlapping_each_other_are_all_named(app: FastAPI, client: TestClient,
                                                               site: Site) -> None:
    m = site.machine_id
    errors = _rejected(app, _upload(client, _csv(
        _row(m, 100, 200, 5), _row(m, 300, 310, 5), _row(m, 150, 160, 5), _row(m, 199, 201, 5))))
    assert sorted(row for row, *_ in errors) == [1, 3, 4]


@pytest.mark.parametrize(("text", "message"), [
    ("", "the first line must be the header machine_id,start,end,hours"),
    ("machine,start,end,hours\nm,a,b,1\n", "the first line must be the header "
                                           "machine_id,start,end,hours"),
    (HEADER + "\n", "the file has no data rows"),
    (HEADER + "\n\n \n", "the file has no data rows"),
])
def test_a_file_that_is_not_the_table_is_422(app: FastAPI, client: TestClient, site: Site,
                                             text: str, message: str) -> None:
    assert _rejected(app, _upload(client, text)) == [(None, "file", message)]


def test_more_than_10000_rows_is_422(app: FastAPI, client: TestClient, site: Site) -> None:
    rows = [_row(site.machine_id, 100 + 2 * n, 101 + 2 * n, 1) for n in range(10_001)]
    assert _rejected(app, _upload(client, _csv(*rows))) == [
        (None, "file", "more than 10000 data rows")]


def test_header_columns_may_come_in_any_order_and_a_bom_is_ignored(
    client: TestClient, site: Site
) -> None:
    text = "\ufeffHours, machine_id ,end,start\n" + \
        f"4,{site.machine_id},{iso(T0 + timedelta(hours=60))},{iso(T0 + timedelta(hours=50))}\n"
    response = _upload(client, text)
    assert response.status_code == 201, response.text


def test_other_media_types_are_415_and_roles_are_checked(app: FastAPI, client: TestClient,
                                                        site: Site) -> None:
    text = _csv(_row(site.machine_id, 48, 72, 10))
    wrong_type = client.post("/v1/windows:import", headers=SUP, json={"csv": text})
    assert wrong_type.status_code == 415
    assert wrong_type.headers["content-type"] == PROBLEM
    for headers in (BUY, OP):
        assert _upload(client, text, headers).status_code == 403
    assert client.post("/v1/windows:import", headers=CSV, content=text).status_code == 401
    assert count(app, "windows") == 1


def test_bytes_that_are_not_utf8_are_422(app: FastAPI, client: TestClient, site: Site) -> None:
    response = client.post("/v1/windows:import", headers=SUP | CSV, content=b"\xff\xfe\x00a")
    assert _rejected(app, response) == [(None, "file", "not UTF-8 text")]


@pytest.mark.slow
def test_ten_thousand_rows_import_fast(app: FastAPI, client: TestClient, site: Site,
                                       database_url: str) -> None:
    machines = [site.machine_id] + [build_site(client, windows=0).machine_id for _ in range(3)]
    rows = [_row(machines[n % 4], 48 + 10 * (n // 4), 56 + 10 * (n // 4), 6)
            for n in range(10_000)]
    text = _csv(*rows)
    started = time.perf_counter()
    response = _upload(client, text)
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, response.text[:500]
    assert response.json()["imported"] == 10_000
    assert count(app, "windows") == 10_001
    assert len(events(app, "window.opened")) == 10_001
    backend = make_url(database_url).get_backend_name()
    print(f"WINDOW-IMPORT backend={backend} rows=10000 seconds={elapsed:.2f}")
