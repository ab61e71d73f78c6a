"""GET /dashboard: the login (form or ?token= once, then a cookie), the page's JSON feed, and in
headless Chromium the numbers on screen against GET /v1/stats (screenshot under bench/results)."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from services.matcher.bootstrap import create_app
from services.matcher.entrypoints.dashboard import COOKIE
from sharefab_cli.stack import free_port
from tests.helpers import make_token
from tests.matcher.integration.conftest import OPERATOR, settings_for
from tests.matcher.integration.dashboard_data import feed_busy_hour

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
RESULTS = Path(__file__).resolve().parents[3] / "bench" / "results"
OPERATOR_TOKEN = make_token("platform", "operator")
BUYER_TOKEN = make_token("firm-b1", "buyer", "qhd-auto")


def test_without_a_cookie_the_dashboard_is_a_login_page(client):  # type: ignore[no-untyped-def]
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'action="/dashboard/login"' in page.text
    # a bearer header is not a session: still the login page
    assert 'action="/dashboard/login"' in client.get("/dashboard", headers=OPERATOR).text
    data = client.get("/dashboard/data")
    assert data.status_code == 401
    assert data.headers["content-type"].startswith("application/problem+json")


def test_a_token_link_signs_in_once_and_leaves_an_httponly_cookie(client):  # type: ignore[no-untyped-def]
    first = client.get("/dashboard", params={"token": OPERATOR_TOKEN}, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/dashboard"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie
    assert "Path=/dashboard" in cookie and "SameSite=strict" in cookie
    page = client.get("/dashboard")
    assert 'id="chart-throughput"' in page.text and "platform" in page.text
    data = client.get("/dashboard/data", params={"window": "15m"})
    assert data.status_code == 200
    assert set(data.json()) == {"stats", "series", "at_risk"}
    assert client.get("/dashboard/data", params={"window": "2w"}).status_code == 422
    unknown = client.get("/dashboard/data", params={"cluster": "qhd-autp"})
    assert unknown.status_code == 422 and "qhd-autp" in unknown.json()["detail"]
    client.post("/dashboard/logout")
    assert client.get("/dashboard/data").status_code == 401


@pytest.mark.parametrize(("token", "status", "says"), [
    (BUYER_TOKEN, 403, "for operators"), ("not-a-jwt", 401, "not valid")])
def test_a_wrong_token_shows_why_on_the_login_page(client, token, status, says):  # type: ignore[no-untyped-def]
    for response in (client.get("/dashboard", params={"token": token}),
                     client.post("/dashboard/login", data={"token": token})):
        assert response.status_code == status
        assert response.headers["content-type"].startswith("text/html")
        assert says in response.text and COOKIE not in response.headers.get("set-cookie", "")


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """A matcher with an hour of data, served over HTTP on a free port."""
    app = create_app(settings_for(f"sqlite:///{tmp_path / 'matcher.db'}",
                                  solver_time_limit_s=1.0))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        now = datetime.now(UTC)
        from tests.matcher import events as e

        runs = feed_busy_hour(app, t0=e.default_t0(), now=now)
        yield f"http://127.0.0.1:{port}", runs
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def number(text: str) -> float:
    found = re.search(r"-?\d+(\.\d+)?", text)
    assert found, f"no number in {text!r}"
    return float(found[0])


@pytest.mark.slow
def test_the_numbers_on_screen_are_those_of_v1_stats(served):  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip(f"{CHROMIUM} is missing: `make install` installs the Debian package")
    from playwright.sync_api import sync_playwright

    base, runs = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{base}/dashboard")
            page.fill("#token", OPERATOR_TOKEN)
            page.click("button[type=submit]")
            page.wait_for_selector("body[data-loaded=true]", timeout=20000)
            shown = {el.get_attribute("data-stat"): el.inner_text()
                     for el in page.query_selector_all("[data-stat]")}
            runs_shown = [r.get_attribute("data-run")
                          for r in page.query_selector_all("#runs tbody tr[data-run]")]
            reasons_shown = {el.get_attribute("data-reason"): int(el.text_content())
                             for el in page.query_selector_all("[data-reason]")}
            at_risk_card = page.get_attribute("#at-risk", "class")
            at_risk_rows = [r.get_attribute("data-order") for r in page.query_selector_all(
                "#at-risk-orders tbody tr[data-order]")]
            at_risk_panel_shown = page.is_visible("#at-risk-panel")
            cookies = {c["name"]: c for c in page.context.cookies()}
            RESULTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(RESULTS / f"dashboard-{date.today().isoformat()}.png"),
                            full_page=True)
            page.fill("#cluster", "qhd-autp")  # a typo: the page says so
            page.press("#cluster", "Enter")
            page.wait_for_selector("#error:not([hidden])", timeout=20000)
            typo = page.inner_text("#error")
        finally:
            browser.close()

    stats = httpx.get(f"{base}/v1/stats", params={"window": "1h"},
                      headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}).json()
    assert cookies[COOKIE]["httpOnly"] is True
    assert stats["match_runs_total"] == runs and stats["steps_unplaced"] > 0
    assert number(shown["orders_per_min"]) == pytest.approx(stats["orders_per_min"], abs=0.005)
    assert stats["orders_completed"] > 0 and stats["steps_in_production"] > 0
    assert (stats["orders_at_risk"], stats["steps_at_risk"]) == (1, 1)
    assert at_risk_card == "card warn"  # drawn to the eye while an order is at risk
    at_risk = httpx.get(f"{base}/v1/orders-at-risk",
                        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}).json()
    assert at_risk_panel_shown and at_risk_rows == [o["order_id"] for o in at_risk["items"]] == [
        "ord-risk"]
    for key in ("orders_submitted", "steps_placed", "steps_unplaced", "match_runs_total",
                "orders_completed", "steps_completed", "steps_in_production",
                "orders_at_risk", "steps_at_risk"):
        assert number(shown[key]) == stats[key], key
    for key in ("match_rate", "utilisation", "sme_share"):
        assert number(shown[key]) == pytest.approx(100 * stats[key], abs=0.05), key
    for q in ("p50", "p95", "p99"):
        assert number(shown[f"latency_{q}"]) == pytest.approx(stats["latency"][f"{q}_s"],
                                                              abs=0.005), q
    for key in ("placed_hours", "offered_hours", "sme_hours", "mean_transport_km",
                "completed_hours", "in_production_hours", "at_risk_hours"):
        assert number(shown[key]) == pytest.approx(stats[key], abs=0.05), key
    assert reasons_shown == stats["unplaced_reasons"]
    assert runs_shown == [r["id"] for r in stats["match_runs"]]
    assert typo == "Could not refresh: cluster 'qhd-autp' is not known to the matcher"
