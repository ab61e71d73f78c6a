"""ServiceClient.items follows next_cursor through every page of a list."""

from __future__ import annotations

import httpx

from sharefab_cli.ops_client import ServiceClient

PAGES = {None: (["a", "b"], "c1"), "c1": (["c"], "c2"), "c2": ([], None)}


def test_items_reads_every_page_with_the_same_filters() -> None:
    asked: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        asked.append(params)
        items, cursor = PAGES[params.get("cursor")]
        return httpx.Response(200, json={"items": items, "next_cursor": cursor})

    client = ServiceClient("capacity", "http://capacity", "t", httpx.MockTransport(answer))
    try:
        assert list(client.items("/v1/reservations", status="held", limit=2)) == ["a", "b", "c"]
    finally:
        client.close()
    assert asked == [{"status": "held", "limit": "2"},
                     {"status": "held", "limit": "2", "cursor": "c1"},
                     {"status": "held", "limit": "2", "cursor": "c2"}]
