"""A hold nobody answers expires, frees its hours, and the step is re-planned elsewhere."""

from __future__ import annotations

import pytest

from tests.system.conftest import running_stack
from tests.system.saga import CLUSTER, Saga

pytestmark = [pytest.mark.system, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):  # type: ignore[no-untyped-def]
    # Holds live 3.6 s here instead of 24 h.
    yield from running_stack(tmp_path_factory, CAPACITY_HOLD_TTL_HOURS="0.001",
                             CAPACITY_EXPIRY_INTERVAL_S="0.5")


def test_unanswered_hold_expires_and_the_step_moves_on(endpoints):
    saga = Saga(endpoints)
    saga.post("capacity", "/v1/clusters", "OP", {"id": CLUSTER, "name": "Expiry", "lat": 39.93,
                                                  "lon": 119.60, "max_distance_km": 60})
    _, cheap_window = saga.factory_with_window("Cheap Mill", 100.0)
    _, dear_window = saga.factory_with_window("Dear Mill", 300.0)
    order = saga.order()
    first = saga.reservation(order["id"], "held")
    assert first["window_id"] == cheap_window
    expired = saga.reservation(order["id"], "expired")
    assert expired["id"] == first["id"]
    second = saga.reservation(order["id"], "held", exclude={first["id"]})
    assert second["window_id"] == dear_window  # re-planned without the window that expired
    assert saga.free_hours(cheap_window) == 20.0
