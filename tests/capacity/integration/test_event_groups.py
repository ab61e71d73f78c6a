"""Proposals applied together (``event_handler.many``, one transaction): each sees the holds of
the ones before it, exactly as one by one; a failing handler keeps nothing of the group."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.capacity.service_layer import handlers
from shared.events.payloads import AllocationProposed
from tests.capacity.integration.flows import (
    build_site,
    count,
    create_cluster,
    events,
    proposal,
    window,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def site(client: TestClient):  # type: ignore[no-untyped-def]
    create_cluster(client)
    return build_site(client, windows=2, hours=20.0)


def test_later_proposals_in_a_group_see_the_earlier_holds(app: FastAPI, client: TestClient,
                                                          site) -> None:  # type: ignore[no-untyped-def]
    w0, w1 = site.window_ids
    first = proposal("ord-1", ("stp-1", w1, 16.0))
    group = [first,
             proposal("ord-2", ("stp-2", w0, 6.0), ("stp-3", w1, 6.0)),  # w1 has 4 h left
             proposal("ord-3", ("stp-4", w1, 4.0)),
             first]  # delivered twice
    app.state.event_handler.many(group)
    assert (window(client, site, 0)["held_hours"], window(client, site, 1)["held_hours"]) == (
        0.0, 20.0)
    assert sorted(e.payload["step_id"] for e in events(app, "reservation.held")) == [
        "stp-1", "stp-4"]
    assert [(e.payload["step_id"], e.payload["reason"])
            for e in events(app, "reservation.rejected")] == [
        ("stp-2", "order_incomplete"),
        ("stp-3", f"capacity_exceeded: window {w1} has 4.0 h free, 6.0 h asked")]
    assert count(app, "inbox") == 3 and count(app, "reservations") == 2


def test_a_failing_handler_keeps_nothing_of_the_group(
    app: FastAPI, client: TestClient, site, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    w0, w1 = site.window_ids
    real = handlers.EVENT_HANDLERS[AllocationProposed]

    def failing_on_ord_2(payload, uow, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if payload.order_id == "ord-2":
            raise RuntimeError("handler bug")
        real(payload, uow, **kwargs)

    monkeypatch.setitem(handlers.EVENT_HANDLERS, AllocationProposed, failing_on_ord_2)
    with pytest.raises(RuntimeError, match="handler bug"):
        app.state.event_handler.many([proposal("ord-1", ("stp-1", w0, 6.0)),
                                      proposal("ord-2", ("stp-2", w1, 6.0))])
    assert window(client, site, 0)["held_hours"] == 0.0
    assert count(app, "inbox") == 0 and count(app, "reservations") == 0
    assert events(app, "reservation.held") == []
