"""The broker restarts and keeps nothing (Tansu's memory storage): the services reconnect on
their own, and `sharefab replay-outbox --since T` brings back what was lost in the broker;
consumers skip what they applied already (inbox), and the state converges to the oracle."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from sharefab_cli.stack import SERVICES
from sharefab_cli.walkthrough import poll
from tests.system.conftest import DIAGNOSIS, running_stack
from tests.system.faults import Workload, events_on

pytestmark = [pytest.mark.system, pytest.mark.slow]

logger = logging.getLogger(__name__)

BEFORE, LOST, AFTER = 40, 40, 20  # orders held before / in flight at / sent after the loss
CLUSTER = "broker-restart"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):  # type: ignore[no-untyped-def]
    yield from running_stack(tmp_path_factory)


def replay(stack, service: str, since: datetime) -> str:  # type: ignore[no-untyped-def]
    """``sharefab replay-outbox`` as an operator runs it: its own process, the service's
    settings (database URL, broker) from the environment."""
    result = subprocess.run(
        [sys.executable, "-m", "sharefab_cli.main", "replay-outbox", "--service", service,
         "--since", since.isoformat()],
        env={**stack.service_env(service), "COLUMNS": "200"}, capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_broker_loss_reconnect_and_replay(stack, request) -> None:  # type: ignore[no-untyped-def]
    work = Workload({s: stack.config.url(s) for s in SERVICES}, cluster=CLUSTER)
    try:
        _broker_loss(stack, work)
    except BaseException:
        print("\n".join(line for line in stack.logs[-3000:]
                        if "ECONNREFUSED" not in line and "socket disconnected" not in line))
        request.node.stash[DIAGNOSIS] = work.diagnose()
        raise


def _broker_loss(stack, work: Workload) -> None:  # type: ignore[no-untyped-def]
    since = datetime.now(UTC)
    work.set_up()
    for i in range(BEFORE):
        work.submit(i)
    work.wait_all_held()

    # The matcher is down while LOST more orders are published; then the broker dies with
    # them: only the orders service's outbox still has those order.submitted events.
    stack.kill("matcher")
    lost = [work.submit(i) for i in range(BEFORE, BEFORE + LOST)]
    poll(lambda: events_on(stack.config.bootstrap, "orders.v1", key=CLUSTER).count(
        "order.submitted") == BEFORE + LOST, timeout_s=60, what="the lost orders published")
    stack.kill("broker")
    clock = time.monotonic()
    stack.start_broker()  # empty: no topics (created again), no offsets, no groups
    stack.start_service("matcher")
    stack.wait_ready()
    assert events_on(stack.config.bootstrap, "orders.v1", key=CLUSTER) == []

    # Reconnect: new orders flow through all three services without any replay.
    after = {work.submit(i) for i in range(BEFORE + LOST, BEFORE + LOST + AFTER)}
    poll(lambda: after <= {r["order_id"] for r in work.held_steps().values()}, timeout_s=120,
         what="orders sent after the restart held without a replay", interval_s=0.5)
    lost_ids = set(lost)
    reconnect_s = time.monotonic() - clock
    held_now = {r["order_id"] for r in work.held_steps().values()}
    assert not lost_ids & held_now  # lost with the broker: nothing brings them back by itself

    # Replay every service's outbox since before the set-up: duplicates are ignored.
    outputs = {s: replay(stack, s, since) for s in SERVICES}
    work.wait_all_held()
    figures = work.check(stack.config.bootstrap)
    logger.warning("BROKER-RESTART: %s; new orders held %.1f s after the broker died; replay: "
                   "%s; total %.1f s", figures, reconnect_s,
                   {s: _count(out) for s, out in outputs.items()}, time.monotonic() - clock)


def _count(output: str) -> int:
    """The "events re-published" cell of the command's one-row table."""
    [row] = [line for line in output.splitlines() if "sqlite" in line]
    return int(row.split("│")[3])
