"""What the access tests derive from an app's routes: which need a token, which roles they
allow, which carry an object id — so a new route is covered (or fails a test) by itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from shared.auth import BearerPrincipal, Role

PARAM = re.compile(r"{[^}]+}")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template, e.g. /v1/orders/{order_id}
    roles: frozenset[Role] | None  # None: no token needed

    @property
    def has_id(self) -> bool:
        return bool(PARAM.search(self.path))

    def url(self, **ids: str) -> str:
        """The path with each {name} replaced by ids[name] (or 'nope')."""
        return PARAM.sub(lambda m: ids.get(m.group(0)[1:-1], "nope"), self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every method × path under /v1, with the roles its dependencies allow."""
    found = []
    for route in _routes(app):
        if route.path.startswith("/v1/"):
            roles = _roles(route.dependant)
            found += [Endpoint(m, route.path, roles) for m in sorted(route.methods)]
    assert found, "no route under /v1: has FastAPI changed how it lists included routes?"
    return found


def _routes(app: FastAPI) -> list[Any]:
    """The app's API routes (FastAPI ≥ 0.16x keeps included routers as one entry each)."""
    contexts = getattr(routing, "iter_route_contexts", None)
    routes = list(contexts(app.routes)) if contexts else app.routes
    return [r for r in routes if isinstance(r.original_route if contexts else r, APIRoute)]


def _roles(root: Dependant) -> frozenset[Role] | None:
    allowed, authenticated = set(Role), False
    stack = [root]
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, BearerPrincipal):
            authenticated = True
            if dependant.call.roles is not None:
                allowed &= dependant.call.roles
        stack.extend(dependant.dependencies)
    return frozenset(allowed) if authenticated else None
