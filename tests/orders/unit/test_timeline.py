"""Timeline entries and their summaries: no supplier identity before acceptance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.orders.domain.timeline import IDENTITY_KEYS, TimelineEntry, reason_code
from services.orders.service_layer import timeline
from shared.events import new_event
from shared.events.payloads import (
    AllocationProposed,
    EventPayload,
    ProposedAllocation,
    ReservationAccepted,
    ReservationCompleted,
    ReservationDeclined,
    ReservationExpired,
    ReservationHeld,
    ReservationRejected,
    ReservationReleased,
    ReservationStarted,
    StepUnplaced,
)
from tests.orders.unit.fakes import NOW

REF = {"cluster_id": "qhd-auto", "order_id": "ord_1", "step_id": "stp_1", "window_id": "win_9",
       "hours": 6.0}
EVENTS: dict[str, EventPayload] = {
    "proposed": AllocationProposed(
        match_run_id="run_1", cluster_id="qhd-auto", order_id="ord_1",
        allocations=[ProposedAllocation(step_id="stp_1", window_id="win_9", machine_id="mac_4",
                                        factory_id="fac_7", hours=6.0, price=1080.0,
                                        transport_km=3.0)]),
    "unplaced": StepUnplaced(match_run_id="run_1", cluster_id="qhd-auto", order_id="ord_1",
                             step_id="stp_1", reason="outside_distance",
                             detail="nearest: Haigang Precision at 72 km"),
    "held": ReservationHeld(**REF, reservation_id="res_3", factory_id="fac_7", price=1080.0,
                            expires_at=NOW + timedelta(hours=24)),
    "rejected": ReservationRejected(**REF, reason="capacity_exceeded: window win_9 has 2 h"),
    "declined": ReservationDeclined(**REF, reservation_id="res_3", factory_id="fac_7",
                                    reason="Haigang's mill is down"),
    "expired": ReservationExpired(**REF, reservation_id="res_3", factory_id="fac_7"),
    "released": ReservationReleased(**REF, reservation_id="res_3", factory_id="fac_7",
                                    reason="order_cancelled"),
    # after the acceptance, but the acceptance's entry is the one that names the factory
    "started": ReservationStarted(**REF, reservation_id="res_3", factory_id="fac_7",
                                  started_at=NOW),
    "completed": ReservationCompleted(**REF, reservation_id="res_3", factory_id="fac_7",
                                      started_at=NOW, completed_at=NOW + timedelta(hours=6)),
}
SECRETS = ("win_9", "fac_7", "mac_4", "res_3", "Haigang")


def consumed(payload: EventPayload, **ignored: str) -> TimelineEntry:
    envelope = new_event(payload, key="qhd-auto", producer="test")
    return timeline.consumed(envelope, payload, order_id="ord_1", ignored=ignored)


@pytest.mark.parametrize("kind", list(EVENTS))
def test_summaries_before_acceptance_name_no_supplier(kind: str) -> None:
    entry = consumed(EVENTS[kind])
    assert not IDENTITY_KEYS & set(entry.summary)
    assert not any(secret in str(entry.summary) for secret in SECRETS), entry.summary


def test_summaries_keep_hours_prices_and_reason_codes() -> None:
    proposed = consumed(EVENTS["proposed"])
    assert proposed.step_id is None  # it may cover several steps
    assert proposed.summary == {"steps": [{"step_id": "stp_1", "hours": 6.0, "price": 1080.0}],
                                "price": 1080.0}
    held = consumed(EVENTS["held"])
    assert (held.step_id, held.summary["price"], held.summary["hours"]) == ("stp_1", 1080.0, 6.0)
    assert consumed(EVENTS["unplaced"]).summary == {"reason": "outside_distance"}
    assert consumed(EVENTS["rejected"]).summary == {"hours": 6.0, "reason": "capacity_exceeded"}
    assert consumed(EVENTS["released"]).summary == {"hours": 6.0, "reason": "order_cancelled"}
    assert consumed(EVENTS["declined"]).summary == {"hours": 6.0}
    assert consumed(EVENTS["started"]).summary == {"started_at": NOW.isoformat()}
    assert consumed(EVENTS["completed"]).summary == {
        "started_at": NOW.isoformat(), "completed_at": (NOW + timedelta(hours=6)).isoformat()}


def test_the_acceptance_names_the_factory() -> None:
    payload = ReservationAccepted(**REF, reservation_id="res_3", factory_id="fac_7",
                                  factory_name="Haigang Precision", price=1080.0)
    entry = consumed(payload)
    assert entry.summary == {"factory_id": "fac_7", "factory_name": "Haigang Precision",
                             "window_id": "win_9", "hours": 6.0, "price": 1080.0}
    assert (entry.type, entry.step_id, entry.order_id) == (
        "reservation.accepted", "stp_1", "ord_1")


def test_ignored_steps_are_noted() -> None:
    entry = consumed(EVENTS["held"], stp_1="step already accepted")
    assert entry.summary["ignored"] == {"stp_1": "step already accepted"}


def test_an_entry_refuses_identity_unless_it_reports_the_acceptance() -> None:
    with pytest.raises(ValueError, match="factory_id"):
        TimelineEntry("ord_1", "e1", "reservation.held", NOW, "stp_1", {"factory_id": "f"})
    TimelineEntry("ord_1", "e1", "reservation.accepted", NOW, "stp_1", {"factory_id": "f"})


@pytest.mark.parametrize(("reason", "code"), [
    ("order_cancelled", "order_cancelled"),
    ("capacity_exceeded: window W7 has 2 h", "capacity_exceeded"),
    ("machine under maintenance that week", None),
    ("Window W7: full", None),
    ("", None),
    (None, None),
])
def test_reason_code_keeps_only_a_leading_code(reason: str | None, code: str | None) -> None:
    assert reason_code(reason) == code
