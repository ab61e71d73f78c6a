"""``sharefab walkthrough`` says why it waited in vain when the matcher left its order unplaced."""

from __future__ import annotations

import httpx
import pytest

from sharefab_cli.walkthrough import Endpoints, Walkthrough, WalkthroughError


def services(order_status: str, reason: str | None) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/reservations":
            return httpx.Response(200, json={"items": [], "next_cursor": None})
        if request.url.path == "/v1/orders/ord-1":
            return httpx.Response(200, json={"id": "ord-1", "status": order_status, "steps": [
                {"id": "stp-1", "status": order_status, "unplaced_reason": reason}]})
        return httpx.Response(404)

    return httpx.MockTransport(answer)


def walk(transport: httpx.MockTransport) -> Walkthrough:
    w = Walkthrough(Endpoints(), {k: "t" for k in ("OP", "SUP", "BUY")}, timeout_s=0.2)
    w.http.close()
    w.http = httpx.Client(transport=transport)
    return w


def test_an_order_left_unplaced_for_taken_capacity_names_the_reason_and_the_way_out():
    with pytest.raises(WalkthroughError) as caught:
        walk(services("unplaced", "capacity_taken")).held_reservation("ord-1")
    message = str(caught.value)
    assert message.startswith("timed out after 0 s waiting for a held reservation for ord-1")
    assert "left the order unplaced (capacity_taken)" in message
    assert "--cluster" in message and "sharefab demo" in message


def test_another_reason_is_named_without_the_hint():
    with pytest.raises(WalkthroughError) as caught:
        walk(services("unplaced", "no_capable_machine")).held_reservation("ord-1")
    assert "(no_capable_machine)" in str(caught.value) and "--cluster" not in str(caught.value)


def test_an_order_still_matching_only_times_out():
    with pytest.raises(WalkthroughError) as caught:
        walk(services("matching", None)).held_reservation("ord-1")
    assert str(caught.value) == ("timed out after 0 s waiting for a held reservation for ord-1")
