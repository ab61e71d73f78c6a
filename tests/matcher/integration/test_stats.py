"""GET /v1/stats and /v1/stats/series on a scenario small enough to check by hand."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.matcher import events as e
from tests.matcher.integration import stats_scenario as sc
from tests.matcher.integration.conftest import BUYER, OPERATOR, feed, plan_now, steps

pytestmark = pytest.mark.integration


def stats(client, **params):  # type: ignore[no-untyped-def]
    response = client.get("/v1/stats", params=params, headers=OPERATOR)
    assert response.status_code == 200, response.text
    return response.json()


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_one_run_gives_the_hand_worked_numbers(client, t0):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    sc.feed_scenario(client.app, t0, now)
    run = plan_now(client)
    assert (run["placed_steps"], run["unplaced_steps"]) == (2, 1)
    finished = parse(run["finished_at"])

    body = stats(client, window="1h")
    assert (body["cluster_id"], body["window"], body["window_s"]) == (None, "1h", 3600)
    assert body["orders_submitted"] == 3
    assert body["orders_per_min"] == pytest.approx(3 / 60, abs=1e-3)
    assert (body["steps_placed"], body["steps_unplaced"]) == (2, 1)
    assert body["match_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert body["unplaced_reasons"] == {"no_capable_machine": 1}
    # windows offer 20 h + 10 h; 6 h + 4 h are proposed; 6 h of them at the SME
    assert (body["offered_hours"], body["placed_hours"]) == (30.0, 10.0)
    assert body["utilisation"] == pytest.approx(10 / 30, abs=1e-4)
    assert (body["sme_hours"], body["sme_share"]) == (6.0, 0.6)
    assert body["mean_transport_km"] == pytest.approx((sc.KM1 + sc.KM2) / 2, abs=0.01)
    # first proposals of ord-1 and ord-2, submitted 10 s and 20 s before `now`
    lat1 = (finished - (now - timedelta(seconds=10))).total_seconds()
    lat2 = (finished - (now - timedelta(seconds=20))).total_seconds()
    assert body["latency"] == {"count": 2, "p50_s": pytest.approx(lat1, abs=1e-3),
                               "p95_s": pytest.approx(lat2, abs=1e-3),
                               "p99_s": pytest.approx(lat2, abs=1e-3)}
    assert body["match_runs_total"] == 1
    (listed,) = body["match_runs"]
    assert (listed["id"], listed["status"], listed["placed_steps"], listed["gap"]) == (
        run["id"], run["status"], 2, run["gap"])


def test_a_step_counts_once_with_its_latest_outcome(client, t0):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    sc.feed_scenario(client.app, t0, now)
    plan_now(client)
    # an EDM machine arrives: the unplaced step is placed by the second run
    feed(client.app, e.machine_added("mch-3", process="edm"),
         e.window_opened(t0, "win-3", machine_id="mch-3", hours=5.0))
    second = plan_now(client)
    assert (second["placed_steps"], second["unplaced_steps"]) == (1, 0)

    body = stats(client)
    assert (body["steps_placed"], body["steps_unplaced"], body["match_rate"]) == (3, 0, 1.0)
    assert body["unplaced_reasons"] == {}
    assert (body["offered_hours"], body["placed_hours"]) == (35.0, 12.0)
    assert (body["sme_hours"], body["sme_share"]) == (8.0, pytest.approx(8 / 12, abs=1e-4))
    assert body["latency"]["count"] == 3
    assert body["match_runs_total"] == 2
    assert body["match_runs"][0]["id"] == second["id"]  # newest first


HOURS = {"stp-1": 6.0, "stp-2": 4.0, "stp-4a": 2.0, "stp-4b": 2.0}  # the placed steps
ORDER = {"stp-1": "ord-1", "stp-2": "ord-2", "stp-4a": "ord-4", "stp-4b": "ord-4"}


def all_accepted(client, t0, now):  # type: ignore[no-untyped-def]
    """The scenario and ord-4 (two steps) planned, every placed step accepted; answers
    ``report(event, step_id, at=None)``, which feeds ``e.started`` or ``e.completed`` for it."""
    sc.feed_scenario(client.app, t0, now)
    feed(client.app, e.order_submitted(t0, "ord-4", step_ids=("stp-4a", "stp-4b"), hours=2.0))
    plan_now(client)
    placed = {sid: s["window_id"] for sid, s in steps(client.app).items() if s["window_id"]}
    assert set(placed) == set(HOURS)  # stp-3: no EDM machine
    for sid, window in placed.items():
        feed(client.app, e.accepted(step_id=sid, window_id=window, order_id=ORDER[sid],
                                    hours=HOURS[sid]))

    def report(event, sid: str, at: datetime | None = None) -> None:  # type: ignore[no-untyped-def]
        feed(client.app, event(step_id=sid, window_id=placed[sid], order_id=ORDER[sid],
                               hours=HOURS[sid], at=at))

    return report


def test_completed_work_counts_steps_hours_and_whole_orders(client, t0):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    report = all_accepted(client, t0, now)
    assert stats(client)["steps_completed"] == 0
    report(e.completed, "stp-1")
    report(e.completed, "stp-4a")  # ord-4 still has a step to do
    report(e.completed, "stp-2", at=now - timedelta(hours=3))  # before the 1 h window
    hour, day = stats(client, window="1h"), stats(client, window="24h")
    assert (hour["steps_completed"], hour["completed_hours"], hour["orders_completed"]) == (
        2, 8.0, 1)
    assert (day["steps_completed"], day["completed_hours"], day["orders_completed"]) == (
        3, 12.0, 2)
    report(e.completed, "stp-4b")
    hour = stats(client, window="1h")
    assert (hour["steps_completed"], hour["completed_hours"], hour["orders_completed"]) == (
        3, 10.0, 2)
    assert hour["placed_hours"] == stats(client)["placed_hours"] == 14.0  # still accepted


def test_work_in_production_is_started_and_not_completed(client, t0):  # type: ignore[no-untyped-def]
    report = all_accepted(client, t0, datetime.now(UTC))

    def in_production() -> tuple[int, float]:
        body = stats(client, window="1h")
        return body["steps_in_production"], body["in_production_hours"]

    assert in_production() == (0, 0.0)  # accepted, not started
    for sid in ("stp-1", "stp-4a", "stp-2"):
        report(e.started, sid)
    assert in_production() == (3, 12.0)
    # the buyer's cancel crossed the start: the step is cancelled, not in production
    feed(client.app, e.order_cancelled("ord-2", step_ids=("stp-2",)))
    assert in_production() == (2, 8.0)
    report(e.completed, "stp-4a")
    report(e.completed, "stp-4b")  # completed without a reported start: never in production
    assert in_production() == (1, 6.0)
    assert stats(client, window="1h")["steps_completed"] == 2


def test_an_order_is_at_risk_while_a_step_is_accepted_and_another_unplaced(client, t0):  # type: ignore[no-untyped-def]
    sc.feed_scenario(client.app, t0, datetime.now(UTC))
    feed(client.app, e.order_submitted(t0, "ord-4", step_ids=("stp-4a", "stp-4b"), hours=2.0))
    plan_now(client)
    for sid in ("stp-1", "stp-4a"):
        feed(client.app, e.accepted(step_id=sid, order_id=ORDER[sid], hours=HOURS[sid]))

    def at_risk(**params: str) -> tuple[int, int, float]:
        body = stats(client, **params)
        return body["orders_at_risk"], body["steps_at_risk"], body["at_risk_hours"]

    assert at_risk() == (0, 0, 0.0)  # ord-3 is unplaced, but nothing of it was accepted
    # stp-4b's supplier declines; win-1 was the only mill window: unplaced beside stp-4a
    feed(client.app, e.declined(step_id="stp-4b", order_id="ord-4", hours=2.0))
    plan_now(client)
    assert steps(client.app)["stp-4b"]["status"] == "unplaced"
    assert at_risk() == at_risk(window="5m", cluster=e.CLUSTER) == (1, 1, 2.0)
    feed(client.app, e.cluster_created("elsewhere"))
    assert at_risk(cluster="elsewhere") == (0, 0, 0.0)
    feed(client.app, e.started(step_id="stp-4a", order_id="ord-4", hours=2.0))
    assert at_risk() == (1, 1, 2.0)
    feed(client.app, e.completed(step_id="stp-4a", order_id="ord-4", hours=2.0))
    assert at_risk() == (1, 0, 0.0)  # done, but the order still cannot be completed
    # a new mill window takes stp-4b: the order is whole again
    feed(client.app, e.window_opened(t0, "win-3", hours=8.0))
    plan_now(client)
    assert steps(client.app)["stp-4b"]["window_id"] == "win-3"
    assert at_risk() == (0, 0, 0.0)


def test_the_window_and_the_cluster_filter(client, t0):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    for p in sc.capacity(t0):
        sc.feed_at(client.app, p, now)
    ord1, ord2, _ = sc.orders(t0)
    sc.feed_at(client.app, ord1, now - timedelta(minutes=5))
    sc.feed_at(client.app, ord2, now - timedelta(hours=2))
    plan_now(client)

    assert stats(client, window="15m")["orders_submitted"] == 1
    assert stats(client, window="3h")["orders_submitted"] == 2
    assert stats(client, window="15m")["latency"]["count"] == 2  # both first proposed now
    feed(client.app, e.cluster_created("elsewhere"))
    other = stats(client, cluster="elsewhere", window="7d")
    assert (other["cluster_id"], other["orders_submitted"], other["steps_placed"],
            other["match_runs_total"], other["match_rate"], other["utilisation"]) == (
        "elsewhere", 0, 0, 0, None, None)
    assert stats(client, cluster=e.CLUSTER, window="24h")["steps_placed"] == 2


def test_the_series_buckets_the_same_events(client, t0):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    for p in sc.capacity(t0):
        sc.feed_at(client.app, p, now)
    ord1, ord2, ord3 = sc.orders(t0)
    sc.feed_at(client.app, ord1, now - timedelta(minutes=50))
    sc.feed_at(client.app, ord2, now - timedelta(minutes=3))
    sc.feed_at(client.app, ord3, now - timedelta(minutes=2))
    plan_now(client)

    response = client.get("/v1/stats/series", params={"window": "1h", "buckets": 6},
                          headers=OPERATOR)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["bucket_s"] == 600 and len(body["points"]) == 6
    assert [p["orders_submitted"] for p in body["points"]] == [1, 0, 0, 0, 0, 2]
    last = body["points"][-1]
    assert (last["steps_placed"], last["steps_unplaced"]) == (2, 1)
    assert last["orders_per_min"] == pytest.approx(0.2)
    assert last["latency_p50_s"] == pytest.approx(180, abs=5)  # ord-2: about 3 minutes
    assert last["latency_p99_s"] == pytest.approx(3000, abs=5)  # ord-1: about 50 minutes
    assert body["points"][0]["latency_p50_s"] is None


@pytest.mark.parametrize("window", ["1x", "0h", "91d", "h", "-1h", "30s", "1.5h"])
def test_a_bad_window_is_a_problem(client, window):  # type: ignore[no-untyped-def]
    for path in ("/v1/stats", "/v1/stats/series"):
        response = client.get(path, params={"window": window}, headers=OPERATOR)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == "query.window"


def test_a_cluster_the_matcher_does_not_know_is_a_422(client):  # type: ignore[no-untyped-def]
    feed(client.app, e.cluster_created())
    for path in ("/v1/stats", "/v1/stats/series"):
        response = client.get(path, params={"cluster": "qhd-autp"}, headers=OPERATOR)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert "qhd-autp" in problem["detail"]
        assert problem["errors"][0]["field"] == "query.cluster"
        assert client.get(path, params={"cluster": e.CLUSTER},
                          headers=OPERATOR).status_code == 200


def test_only_operators_see_stats(client):  # type: ignore[no-untyped-def]
    assert client.get("/v1/stats").status_code == 401
    forbidden = client.get("/v1/stats", headers=BUYER)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/stats/series", headers=BUYER).status_code == 403


def orders_at_risk(client, **params):  # type: ignore[no-untyped-def]
    response = client.get("/v1/orders-at-risk", params=params, headers=OPERATOR)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_orders_at_risk_are_listed_soonest_due_first(client, t0):  # type: ignore[no-untyped-def]
    sc.feed_at_risk(client, t0)
    body = orders_at_risk(client)
    assert [o["order_id"] for o in body["items"]] == ["ord-5", "ord-4"]
    assert body["next_cursor"] is None
    five, four = body["items"]
    assert {k: five[k] for k in ("cluster_id", "buyer_firm_id", "title", "steps",
                                 "steps_completed", "steps_at_risk", "at_risk_hours")} == {
        "cluster_id": e.CLUSTER, "buyer_firm_id": "firm-b2", "title": "Hubs", "steps": 2,
        "steps_completed": 1, "steps_at_risk": 0, "at_risk_hours": 0.0}
    assert parse(five["due"]) == t0 + timedelta(days=5)
    assert (four["steps_completed"], four["steps_at_risk"], four["at_risk_hours"]) == (
        0, 1, 2.0)
    (unplaced,) = four["unplaced"]
    assert (unplaced["step_id"], unplaced["key"], unplaced["reason"]) == (
        "stp-4b", "k1", "capacity_taken")
    assert "declined" in unplaced["detail"]
    # the stats count the same orders
    assert stats(client)["orders_at_risk"] == 2
    # a page at a time
    first = orders_at_risk(client, limit=1)
    assert [o["order_id"] for o in first["items"]] == ["ord-5"] and first["next_cursor"]
    second = orders_at_risk(client, limit=1, cursor=first["next_cursor"])
    assert [o["order_id"] for o in second["items"]] == ["ord-4"]
    assert second["next_cursor"] is None
    # by cluster
    assert len(orders_at_risk(client, cluster=e.CLUSTER)["items"]) == 2
    feed(client.app, e.cluster_created("elsewhere"))
    assert orders_at_risk(client, cluster="elsewhere")["items"] == []


def test_an_order_placed_whole_again_or_cancelled_is_no_longer_at_risk(client, t0):  # type: ignore[no-untyped-def]
    sc.feed_at_risk(client, t0)
    feed(client.app, e.order_cancelled("ord-5", step_ids=("stp-5a", "stp-5b")))
    assert [o["order_id"] for o in orders_at_risk(client)["items"]] == ["ord-4"]
    feed(client.app, e.window_opened(t0, "win-3", hours=8.0))
    plan_now(client)  # stp-4b on the new window
    assert orders_at_risk(client)["items"] == []


@pytest.mark.parametrize(("params", "field"), [
    ({"cursor": "not-a-cursor"}, "query.cursor"),
    ({"cluster": "qhd-autp"}, "query.cluster"),
    ({"limit": "0"}, "query.limit"),
])
def test_a_bad_query_of_the_orders_at_risk_is_a_problem(client, t0, params, field):  # type: ignore[no-untyped-def]
    sc.feed_scenario(client.app, t0, datetime.now(UTC))
    response = client.get("/v1/orders-at-risk", params=params, headers=OPERATOR)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [err["field"] for err in response.json()["errors"]] == [field]


def test_only_operators_see_the_orders_at_risk(client):  # type: ignore[no-untyped-def]
    assert client.get("/v1/orders-at-risk", headers=BUYER).status_code == 403
    assert client.get("/v1/orders-at-risk").status_code == 401
