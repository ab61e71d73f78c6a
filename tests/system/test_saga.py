"""The saga across the three services, over HTTP only: decline → re-plan, cancellation, a
revision that moves an order past the term that kept it unplaced, the supplier's reports of
its work taking an order to completed, and work reported only in the order's step order."""

from __future__ import annotations

import httpx
import pytest

from sharefab_cli.walkthrough import poll
from tests.system.saga import Saga

pytestmark = [pytest.mark.system, pytest.mark.slow]


def test_decline_replans_elsewhere_and_cancel_releases_everything(endpoints):
    saga = Saga(endpoints)
    saga.cluster(status=(201,))
    cheap_factory, cheap_window = saga.factory_with_window("Cheap Mill", 100.0)
    dear_factory, dear_window = saga.factory_with_window("Dear Mill", 300.0)

    order = saga.order()
    first = saga.reservation(order["id"], "held")
    assert first["window_id"] == cheap_window  # the cheaper factory first

    saga.post("capacity", f"/v1/reservations/{first['id']}/decline", "SUP",
              {"reason": "machine down"}, status=200)
    second = saga.reservation(order["id"], "held", exclude={first["id"]})
    assert second["window_id"] == dear_window  # re-planned without the declined window
    assert saga.free_hours(cheap_window) == 20.0
    assert saga.free_hours(dear_window) == 15.0

    def heard_of_the_decline():  # orders reads capacity.v1 in its own consumer group
        items = saga.get("orders", f"/v1/orders/{order['id']}/timeline", "BUY")["items"]
        return any(item["type"] == "reservation.declined" for item in items)

    poll(heard_of_the_decline, timeout_s=30, what="orders to hear of the decline")
    cancelled = saga.post("orders", f"/v1/orders/{order['id']}/cancel", "BUY",
                          {"reason": "customer withdrew"}, status=200)
    assert cancelled["status"] == "cancelled"
    released = saga.reservation(order["id"], "released")
    assert released["id"] == second["id"]
    assert saga.free_hours(dear_window) == 20.0

    timeline = saga.get("orders", f"/v1/orders/{order['id']}/timeline", "BUY")["items"]
    types = [item["type"] for item in timeline]
    assert types[0] == "order.submitted"
    assert "reservation.declined" in types and types.index("order.cancelled") > types.index(
        "reservation.declined")
    assert "Cheap Mill" not in str(timeline) and cheap_factory not in str(timeline)
    assert dear_factory not in str(timeline)  # never accepted: never named to the buyer


def test_a_revision_past_the_distance_limit_gets_the_order_placed(endpoints):
    saga = Saga(endpoints)
    saga.cluster()
    _, far_window = saga.factory_with_window("Far Grinder", 150.0, process="grinding",
                                             lat=40.6)  # about 73 km from the delivery point
    order = saga.order(process="grinding")
    step_id = order["steps"][0]["id"]

    def unplaced():
        # The matcher may hear of the order before it hears of the factory (two topics), and
        # say "no machine" first; the factory's window then reopens the step.
        body = saga.explanation(step_id)
        return body if body and body.get("reason") == "outside_distance" else None

    why = poll(unplaced, timeout_s=30, what="the step to be unplaced by its distance")
    assert why["status"] == "unplaced"
    assert why["nearest_miss"] == "distance: a factory within 75 km of delivery (limit 60 km)"
    assert why["revisable_terms"] == ["max_distance_km", "delivery"]

    revised = saga.post("orders", f"/v1/orders/{order['id']}/revise", "BUY",
                        {"max_distance_km": 80})
    assert revised["revision_of"] == order["id"]
    held = saga.reservation(revised["id"], "held")
    assert (held["window_id"], held["hours"]) == (far_window, 5.0)
    old = saga.get("orders", f"/v1/orders/{order['id']}", "BUY")
    assert (old["status"], old["revised_as"]) == ("cancelled", revised["id"])

    def dropped():
        body = saga.explanation(step_id)
        return body if body and body["status"] == "cancelled" else None

    gone = poll(dropped, timeout_s=30, what="the matcher to drop the old step")
    assert gone["detail"] == f"the order was cancelled: revised as {revised['id']}"


def test_the_suppliers_reports_close_the_order_and_stop_a_cancel(endpoints):
    saga = Saga(endpoints)
    saga.cluster()
    saga.factory_with_window("Press Shop", 120.0, process="stamping")
    order = saga.order(process="stamping")
    held = saga.reservation(order["id"], "held")
    saga.post("capacity", f"/v1/reservations/{held['id']}/accept", "SUP", status=200)
    saga.post("capacity", f"/v1/reservations/{held['id']}/start", "SUP", status=200)

    def status(wanted: str):  # type: ignore[no-untyped-def]
        def now():  # type: ignore[no-untyped-def]
            body = saga.get("orders", f"/v1/orders/{order['id']}", "BUY")
            return body if body["status"] == wanted else None
        return poll(now, timeout_s=30, what=f"the order to be {wanted}")

    status("in_production")
    refused = httpx.post(f"{endpoints.orders}/v1/orders/{order['id']}/cancel",
                         headers=saga.h["BUY"], json={"reason": "too late"})
    assert refused.status_code == 409, refused.text
    assert saga.free_hours(held["window_id"]) == 15.0  # nothing released

    saga.post("capacity", f"/v1/reservations/{held['id']}/complete", "SUP", status=200)
    done = status("completed")
    assert done["steps"][0]["status"] == "completed"
    assert done["steps"][0]["started_at"] <= done["steps"][0]["completed_at"]
    assert done["steps"][0]["allocation"]["factory_name"] == "Press Shop"
    types = [i["type"] for i in saga.get("orders", f"/v1/orders/{order['id']}/timeline",
                                         "BUY")["items"]]
    assert types[-2:] == ["reservation.started", "reservation.completed"]
    assert "order.cancelled" not in types


def test_work_on_a_step_waits_until_the_step_before_is_completed(endpoints):
    """The matcher's proposal names each step's predecessors; capacity refuses work reported
    before them, across factories, and shows what the step waits for."""
    saga = Saga(endpoints)
    saga.cluster()
    saga.factory_with_window("Laser Shop", 90.0, process="laser_cutting")
    saga.factory_with_window("Bend Shop", 110.0, process="sheet_metal", later_h=48)
    order = saga.order(steps=[
        {"key": "cut", "process": "laser_cutting", "material": "steel", "quantity": 10,
         "hours": 4.0, "after": []},
        {"key": "bend", "process": "sheet_metal", "material": "steel", "quantity": 10,
         "hours": 3.0, "after": ["cut"]}])
    cut = saga.reservation(order["id"], "held")
    bend = saga.reservation(order["id"], "held", exclude={cut["id"]})
    if cut["job"]["step"] == "bend":
        cut, bend = bend, cut
    assert (bend["job"]["after"], bend["waiting_for"]) == (
        [{"step_id": order["steps"][0]["id"], "key": "cut"}], ["cut"])
    for held in (cut, bend):
        saga.post("capacity", f"/v1/reservations/{held['id']}/accept", "SUP", status=200)

    refused = saga.post("capacity", f"/v1/reservations/{bend['id']}/start", "SUP", status=409)
    assert refused["detail"] == (f"step bend of order {order['id']} comes after cut: the work "
                                 "there is not reported completed yet")
    saga.post("capacity", f"/v1/reservations/{cut['id']}/complete", "SUP", status=200)
    assert saga.get("capacity", f"/v1/reservations/{bend['id']}", "SUP")["waiting_for"] == []
    saga.post("capacity", f"/v1/reservations/{bend['id']}/start", "SUP", status=200)
