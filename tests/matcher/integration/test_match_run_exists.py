"""The matcher tells its own match runs from another instance's by id (the proposal and
unplaced events it reads back), without loading a run's stored snapshot."""

import pytest

from tests.matcher.integration.conftest import feed, plan_now
from tests.matcher.integration.test_replay import busy_cluster

pytestmark = pytest.mark.integration


def test_own_runs_exist_and_unknown_ids_do_not(client, t0):  # type: ignore[no-untyped-def]
    feed(client.app, *busy_cluster(t0))
    run = plan_now(client)
    with client.app.state.runtime.uow_factory() as uow:
        assert uow.runs.exists(run["id"]) is True
        assert uow.runs.exists("run_of_another_instance") is False
        assert uow.runs.exists(run["id"] + "x") is False
