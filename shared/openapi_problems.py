"""Every service's OpenAPI document names the problem answers each /v1 operation can give.

The statuses any route can answer for the same reasons everywhere (no token 401, wrong role 403,
unknown or foreign id 404, body too large 413, invalid input 422, rate limit 429) are added to
every operation as ``application/problem+json`` with one shared ``Problem`` schema, so clients
and schema-driven tests (schemathesis) see what the API really answers. A route's own
description of a status (e.g. 409) is kept; only the media type and schema are filled in.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from shared.problems import MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"},
                   "description": "one entry per bad field (422)"},
    },
    "examples": [{"type": "https://sharefab.dev/problems/not-found", "title": "Not found",
                  "status": 404, "detail": "no order ord_0193a1b2", "instance":
                  "/v1/orders/ord_0193a1b2"}],
}
COMMON = {401: "no or invalid bearer token", 403: "the caller's role may not do this",
          422: "invalid input, each bad field named in `errors`",
          429: "too many requests from this firm; see Retry-After"}
WITH_ID = {404: "no such object, or not the caller's"}
WITH_BODY = {413: "request body too large"}
REF = {"$ref": "#/components/schemas/Problem"}


def document_problems(app: FastAPI) -> None:
    """Wraps ``app.openapi`` so that the document it builds (once) lists the problems."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = \
            PROBLEM_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            if path.startswith("/v1/"):
                for operation in operations.values():
                    _add_problems(path, operation)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_problems(path: str, operation: dict[str, Any]) -> None:
    statuses = dict(COMMON)
    if "{" in path:
        statuses |= WITH_ID
    if "requestBody" in operation:
        statuses |= WITH_BODY
    responses = operation.setdefault("responses", {})
    for status in {int(s) for s in responses if s.isdigit() and int(s) >= 400} | set(statuses):
        entry = responses.setdefault(str(status), {})
        entry.setdefault("description", statuses.get(status, "see the problem's detail"))
        entry["content"] = {MEDIA_TYPE: {"schema": REF}}
