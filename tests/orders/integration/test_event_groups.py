"""Events applied together (``event_handler.many``, one transaction) leave exactly what applying
them one by one leaves; a group in which one handler fails keeps nothing."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.orders.service_layer import handlers
from shared.events import new_event
from shared.events.payloads import ReservationHeld, StepUnplaced
from shared.uow import GroupAborted
from tests.orders.integration.support import (
    BUYER,
    CLUSTER,
    held,
    inbox_count,
    proposal,
    read,
    submit_one_step,
    timeline,
)

pytestmark = pytest.mark.integration


def _saga(orders: list[tuple[str, str]]) -> list[Any]:
    """proposed → held for the first order, unplaced for the second, one duplicate delivery,
    an event for an unknown order; in that sequence."""
    (o1, s1), (o2, s2) = orders
    events = [proposal(o1, s1), held(o1, s1),
              StepUnplaced(match_run_id="run-1", cluster_id=CLUSTER, order_id=o2, step_id=s2,
                           reason="no_capable_machine", detail="no mill in the cluster"),
              held("no-such-order", "s")]
    envelopes = [new_event(e, key=CLUSTER, producer="test") for e in events]
    pairs = list(zip(envelopes, events, strict=True))
    return [*pairs[:2], pairs[1], *pairs[2:]]  # the held event delivered twice


def _state(client: TestClient, orders: list[tuple[str, str]]) -> list[Any]:
    def clean(order: dict[str, Any]) -> dict[str, Any]:
        own = ("id", "due", "created_at", "updated_at")  # differ between the two submissions
        return {**{k: v for k, v in order.items() if k not in own},
                "steps": [{k: v for k, v in s.items() if k != "id"} for s in order["steps"]]}

    return [(clean(read(client, o)), [e["type"] for e in timeline(client, o)])
            for o, _ in orders]


def test_a_group_leaves_what_one_by_one_leaves(client: TestClient, app: FastAPI) -> None:
    alone = [submit_one_step(client), submit_one_step(client)]
    for envelope, payload in _saga(alone):
        app.state.event_handler(envelope, payload)
    inbox_alone = inbox_count(app)

    together = [submit_one_step(client), submit_one_step(client)]
    app.state.event_handler.many(_saga(together))
    assert inbox_count(app) - inbox_alone == inbox_alone - 1  # -1: the cluster.created fed first

    assert _state(client, together) == _state(client, alone)
    assert read(client, together[0][0])["steps"][0]["status"] == "held"
    assert read(client, together[1][0])["status"] == "unplaced"


def test_a_group_with_a_failing_handler_keeps_nothing(
    client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = [submit_one_step(client), submit_one_step(client)]
    before = [(read(client, o), timeline(client, o)) for o, _ in orders]
    inbox_before = inbox_count(app)

    def broken(event: Any) -> Any:
        def change(order: Any, now: Any) -> Any:
            raise RuntimeError("handler bug")
        return change

    monkeypatch.setitem(handlers.ORDER_CHANGES, ReservationHeld, broken)
    with pytest.raises(GroupAborted) as caught:
        app.state.event_handler.many(_saga(orders))
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert [(read(client, o), timeline(client, o)) for o, _ in orders] == before
    assert inbox_count(app) == inbox_before

    monkeypatch.undo()  # the consumer then applies them one by one: all but the bad one work
    app.state.event_handler.many(_saga(orders))
    assert read(client, orders[0][0], BUYER)["steps"][0]["status"] == "held"


def test_saving_orders_together_refuses_an_unknown_one(client: TestClient, app: FastAPI) -> None:
    (known, _), (other, _) = submit_one_step(client), submit_one_step(client)
    with app.state.runtime.uow_factory() as uow:
        orders = uow.orders.get_many([known, other])
        ghost = dataclasses.replace(orders[other], id="no-such-order")
        with pytest.raises(LookupError, match="1 of the orders"):
            uow.orders.save_all([orders[known], ghost])
    with app.state.runtime.uow_factory() as uow:
        orders = uow.orders.get_many([known, other])
        for order in orders.values():
            order.cancel(now=order.created_at)
        uow.orders.save_all(list(orders.values()))
        uow.commit()
    assert [read(client, o)["status"] for o in (known, other)] == ["cancelled", "cancelled"]
