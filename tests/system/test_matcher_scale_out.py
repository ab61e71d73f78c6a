"""Two matcher instances in one consumer group split the clusters; when one is killed, the
other takes its clusters over: every order ends held, none is lost and no step is proposed
twice (read straight from matching.v1)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition

from shared.events import decode
from shared.events.topics import MATCHING
from shared.messaging.partitions import partition_for_key
from sharefab_cli.stack import free_port
from sharefab_cli.walkthrough import poll
from tests.helpers import bearer
from tests.system.conftest import running_stack

pytestmark = [pytest.mark.system, pytest.mark.slow]

logger = logging.getLogger(__name__)

PARTITIONS = 6
SURVIVOR, VICTIM = "matcher", "matcher-b"
ORDERS_BEFORE, ORDERS_AFTER = 2, 2  # per cluster


def pick_clusters(per_half: int = 4) -> list[str]:
    """Cluster ids on both halves of the partitions (range assignment gives each of two
    members three consecutive partitions of every topic)."""
    low, high, i = [], [], 0
    while len(low) < per_half or len(high) < per_half:
        cid = f"so-{i}"
        half = low if partition_for_key(cid, PARTITIONS) < PARTITIONS // 2 else high
        if len(half) < per_half:
            half.append(cid)
        i += 1
    return low + high


CLUSTERS = pick_clusters()
OP = bearer("platform", "operator")
SUP = bearer("firm-s1", "supplier", *CLUSTERS)
BUY = bearer("firm-b1", "buyer", *CLUSTERS)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):  # type: ignore[no-untyped-def]
    """The usual stack plus a second matcher instance (own port and SQLite file)."""
    with contextlib.closing(running_stack(tmp_path_factory, KAFKA_TOPIC_PARTITIONS=str(PARTITIONS),
                                         KAFKA_SESSION_TIMEOUT_MS="6000",
                                         KAFKA_HEARTBEAT_INTERVAL_MS="1000")) as stacks:
        s = next(stacks)
        s.start_service("matcher", instance=VICTIM, port=free_port())
        s.wait_ready((VICTIM,))
        yield s


def get(url: str, headers: dict[str, str], **params) -> dict:  # type: ignore[no-untyped-def]
    response = httpx.get(url, headers=headers, params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def post(url: str, headers: dict[str, str], body: dict, status: int = 201) -> dict:
    response = httpx.post(url, headers=headers, json=body, timeout=10)
    assert response.status_code == status, response.text
    return response.json()


def partitions(stack, name: str) -> dict:  # type: ignore[no-untyped-def]
    return get(stack.config.url(name) + "/v1/partitions", OP)


def run_clusters(stack, name: str, since: datetime | None = None) -> set[str]:  # type: ignore[no-untyped-def]
    clusters: set[str] = set()
    cursor = None
    while True:
        page = get(stack.config.url(name) + "/v1/match-runs", OP, limit=200,
                   **({"cursor": cursor} if cursor else {}))
        for run in page["items"]:
            if since is None or datetime.fromisoformat(run["started_at"]) >= since:
                clusters.add(run["cluster_id"])
        cursor = page["next_cursor"]
        if cursor is None:
            return clusters


def held_steps(stack) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """step id → order id of every held reservation."""
    steps: dict[str, str] = {}
    cursor = None
    while True:
        page = get(stack.config.url("capacity") + "/v1/reservations", OP, status="held",
                   limit=200, **({"cursor": cursor} if cursor else {}))
        steps.update({r["step_id"]: r["order_id"] for r in page["items"]})
        cursor = page["next_cursor"]
        if cursor is None:
            return steps


def set_up_cluster(stack, cid: str, t0: datetime) -> None:  # type: ignore[no-untyped-def]
    cap = stack.config.url("capacity")
    post(cap + "/v1/clusters", OP, {"id": cid, "name": cid, "lat": 39.93, "lon": 119.60,
                                    "max_distance_km": 60})
    factory = post(cap + "/v1/factories", SUP, {
        "cluster_id": cid, "name": f"Mill {cid}", "lat": 39.95, "lon": 119.58,
        "declared_tier": "advanced", "sme": True, "certifications": []})
    post(cap + f"/v1/factories/{factory['id']}/tier-verification", OP, {"tier": "advanced"},
         status=200)
    machine = post(cap + f"/v1/factories/{factory['id']}/machines", SUP, {
        "name": "mill", "process": "cnc_milling", "materials": ["steel"], "hourly_rate": 150.0})
    post(cap + f"/v1/machines/{machine['id']}/windows", SUP, {
        "start": t0.isoformat(), "end": (t0 + timedelta(hours=72)).isoformat(), "hours": 60.0})


def submit_order(stack, cid: str, t0: datetime) -> dict:  # type: ignore[no-untyped-def]
    body = {"cluster_id": cid, "title": f"Brackets {cid}",
            "delivery": {"lat": 39.94, "lon": 119.55},
            "due": (t0 + timedelta(days=7)).isoformat(), "max_distance_km": 60,
            "steps": [{"key": "mill", "process": "cnc_milling", "material": "steel",
                       "quantity": 10, "hours": 3.0, "after": []}]}

    def submit():  # type: ignore[no-untyped-def]
        r = httpx.post(stack.config.url("orders") + "/v1/orders", headers=BUY, json=body,
                       timeout=10)
        return None if r.status_code == 422 and "cluster_id" in r.text else r

    response = poll(submit, timeout_s=60, what=f"orders to know cluster {cid}")
    assert response.status_code == 201, response.text
    return response.json()


def read_matching(bootstrap: str) -> list:  # type: ignore[type-arg]
    """Every event on matching.v1, from the beginning (no consumer group)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=2000)
    try:
        tps = [TopicPartition(MATCHING, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        events = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, "matching.v1 could not be read to its end"
            for records in consumer.poll(timeout_ms=500).values():
                events.extend(decode(r.value) for r in records)
        return events
    finally:
        consumer.close()


def test_two_instances_split_the_clusters_and_one_takes_over_when_the_other_dies(stack):  # type: ignore[no-untyped-def]
    # 1. The group settles: each instance holds half of every topic's partitions.
    def settled():  # type: ignore[no-untyped-def]
        a, b = partitions(stack, SURVIVOR), partitions(stack, VICTIM)
        ok = (a["ready"] and b["ready"] and a["ready"] == a["assigned"]
              and b["ready"] == b["assigned"] and not set(a["assigned"]) & set(b["assigned"])
              and len(a["assigned"]) + len(b["assigned"]) == 3 * PARTITIONS)
        return (a, b) if ok else None

    split = poll(settled, timeout_s=90, what="two matchers sharing the partitions", interval_s=0.5)
    logger.info("partitions: %s", split)

    # 2. Clusters with capacity, orders in every cluster: all held.
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    for cid in CLUSTERS:
        set_up_cluster(stack, cid, t0)
    orders = [submit_order(stack, cid, t0) for cid in CLUSTERS for _ in range(ORDERS_BEFORE)]
    step_ids = {s["id"] for o in orders for s in o["steps"]}
    poll(lambda: step_ids <= held_steps(stack).keys(), timeout_s=90,
         what="every first-round step held", interval_s=0.5)

    before = {name: run_clusters(stack, name) for name in (SURVIVOR, VICTIM)}
    logger.info("clusters planned before the kill: %s", before)
    assert before[SURVIVOR] and before[VICTIM]
    assert not before[SURVIVOR] & before[VICTIM]
    assert before[SURVIVOR] | before[VICTIM] == set(CLUSTERS)

    # 3. kill -9 one instance; orders keep coming in every cluster.
    killed_at = datetime.now(UTC)
    clock = time.monotonic()
    stack.kill(VICTIM)
    more = [submit_order(stack, cid, t0) for cid in CLUSTERS for _ in range(ORDERS_AFTER)]
    orders += more
    step_ids |= {s["id"] for o in more for s in o["steps"]}

    taken_over = poll(lambda: before[VICTIM] <= run_clusters(stack, SURVIVOR, since=killed_at),
                      timeout_s=120, what="the survivor to plan the dead instance's clusters",
                      interval_s=0.5)
    takeover_s = time.monotonic() - clock
    poll(lambda: step_ids <= held_steps(stack).keys(), timeout_s=120,
         what="every step held after the takeover", interval_s=0.5)
    all_held_s = time.monotonic() - clock
    after = run_clusters(stack, SURVIVOR, since=killed_at)
    assert taken_over and after == set(CLUSTERS)
    final = partitions(stack, SURVIVOR)
    assert len(final["ready"]) == 3 * PARTITIONS

    # 4. Nothing planned twice: one allocation.proposed per step, no rejection in between.
    events = read_matching(stack.config.bootstrap)
    proposed = Counter(a.step_id for env, p in events if env.type == "allocation.proposed"
                       for a in p.allocations)
    assert set(proposed) == step_ids
    assert max(proposed.values()) == 1, {k: v for k, v in proposed.items() if v > 1}
    assert not [env for env, _ in events if env.type == "step.unplaced"]
    held = held_steps(stack)
    assert len(held) == len(step_ids) == len(orders)
    logger.warning(
        "scale-out: %d clusters, %d orders; before the kill %s planned %d clusters and %s %d; "
        "after it %s planned %d; takeover %.1f s, all held %.1f s after the kill",
        len(CLUSTERS), len(orders), SURVIVOR, len(before[SURVIVOR]), VICTIM,
        len(before[VICTIM]), SURVIVOR, len(after), takeover_s, all_held_s)
