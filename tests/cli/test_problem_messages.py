"""How the operator commands put a service's problem+json into one sentence."""

from __future__ import annotations

import httpx
import pytest

from sharefab_cli.ops_client import ServiceClient


def said(problem: dict[str, object], status: int = 422) -> str:
    client = ServiceClient("matcher", "http://matcher", "t")
    try:
        return client.explain(httpx.Response(status, json=problem), "GET /v1/stats")
    finally:
        client.close()


def test_a_field_whose_message_is_the_detail_is_named_once():
    assert said({"detail": "window '5x' is bad", "errors": [
        {"field": "query.window", "message": "window '5x' is bad"}]}) == (
        "matcher answered 422 to GET /v1/stats: window '5x' is bad (query.window)")


def test_other_field_messages_are_given():
    assert said({"detail": "invalid fields: body.due, body.steps", "errors": [
        {"field": "body.due", "message": "in the past"},
        {"field": "body.steps", "message": "a cycle"}]}) == (
        "matcher answered 422 to GET /v1/stats: invalid fields: body.due, body.steps "
        "(body.due: in the past; body.steps: a cycle)")


@pytest.mark.parametrize("error", [{"field": "query.x"}, {"field": "query.x", "message": None},
                                   {"field": "query.x", "message": 7}])
def test_a_field_error_without_a_text_message_does_not_break_the_sentence(error):  # type: ignore[no-untyped-def]
    assert said({"detail": "bad", "errors": [error, "not a dict"]}).endswith(
        "bad (query.x)" if not error.get("message") else "bad (query.x: 7)")
