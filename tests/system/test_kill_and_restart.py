"""kill -9 each service in turn in the middle of a stream of 200 orders, restart it: every order
ends as the oracle of ``tests/system/faults.py`` says (held exactly once), nothing is lost,
nothing is applied twice, nothing is dead-lettered."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from sharefab_cli.stack import SERVICES
from tests.system.conftest import running_stack
from tests.system.faults import Workload

pytestmark = [pytest.mark.system, pytest.mark.slow]

logger = logging.getLogger(__name__)

ORDERS = 200


@pytest.fixture(scope="module")
def stack(tmp_path_factory):  # type: ignore[no-untyped-def]
    yield from running_stack(tmp_path_factory)


@pytest.mark.parametrize("victim", SERVICES)
def test_kill_9_mid_stream_and_restart(stack, victim: str) -> None:  # type: ignore[no-untyped-def]
    work = Workload({s: stack.config.url(s) for s in SERVICES}, cluster=f"kill-{victim}")
    work.set_up()
    started = time.monotonic()
    midway = threading.Event()
    stream = work.stream(ORDERS, midway=midway)
    assert midway.wait(120)
    stack.kill(victim)  # SIGKILL to its process group: no shutdown hooks, no flush
    killed = time.monotonic()
    time.sleep(1.0)
    stack.start_service(victim)
    stack.wait_ready((victim,))
    down_s = time.monotonic() - killed
    stream.join(300)
    assert not stream.is_alive() and stream.errors == []  # type: ignore[attr-defined]
    work.wait_all_held()
    figures = work.check(stack.config.bootstrap)
    logger.warning("KILL-9 %s: %s; down %.1f s; all held %.1f s after the first order; "
                   "client retries %s", victim, figures, down_s, time.monotonic() - started,
                   dict(work.retried))
