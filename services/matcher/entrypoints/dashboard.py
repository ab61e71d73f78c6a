"""The operator's dashboard: ``GET /dashboard`` (HTML), its login and its JSON feed.

The operator signs in once with a token (the login form, or ``/dashboard?token=…`` which
redirects to a clean URL); the token is then kept in an HttpOnly, SameSite=Strict cookie
scoped to ``/dashboard``. Without a valid operator cookie every page is the login page (HTML,
never a JSON 401). The page polls ``/dashboard/data`` — the same numbers as ``GET /v1/stats``
and ``/v1/stats/series``, and the first orders of ``GET /v1/orders-at-risk`` — and draws its
charts as inline SVG with its own script (no CDN).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.matcher.entrypoints.stats_api import (
    Buckets,
    ClusterQuery,
    UowDep,
    WindowText,
    orders_at_risk_public,
    series_public,
    stats_public,
)
from shared.auth import InvalidToken, Principal, decode_token
from shared.problems import Problem

COOKIE = "sharefab_dashboard"
ASSETS = Path(__file__).parent / "dashboard_assets"
WINDOWS = ("15m", "1h", "24h", "7d")
AT_RISK_SHOWN = 10  # the soonest due; the card counts them all

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def _operator(request: Request, token: str | None) -> tuple[Principal | None, str]:
    """The operator the token names, or None and why not."""
    if not token:
        return None, ""
    try:
        principal = decode_token(request.app.state.settings.jwt_secret, token)
    except InvalidToken as exc:
        return None, f"That token is not valid ({exc})."
    if not principal.is_operator:
        return None, f"The dashboard is for operators; this token's role is {principal.role}."
    return principal, ""


def _signed_in(request: Request, to: str, token: str) -> Response:
    response = RedirectResponse(to, status_code=303)
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    max_age = max(0, int(exp - datetime.now(UTC).timestamp())) if exp else None
    response.set_cookie(COOKIE, token, max_age=max_age, path="/dashboard", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


def _login_page(message: str = "", status: int = 200) -> HTMLResponse:
    page = (ASSETS / "login.html").read_text(encoding="utf-8")
    note = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    return HTMLResponse(page.replace("<!--message-->", note), status_code=status)


@router.get("")
def dashboard(request: Request, token: Annotated[str | None, Query()] = None) -> Response:
    if token is not None:  # sign in once from a link, then drop the token from the URL
        principal, why = _operator(request, token)
        if principal is None:
            return _login_page(why, status=403 if "role" in why else 401)
        return _signed_in(request, "/dashboard", token)
    principal, why = _operator(request, request.cookies.get(COOKIE))
    if principal is None:
        return _login_page(why, status=200 if not why else 401)
    page = (ASSETS / "dashboard.html").read_text(encoding="utf-8")
    return HTMLResponse(page.replace("{{operator}}", html.escape(principal.firm_id)))


@router.post("/login")
def login(request: Request, token: Annotated[str, Form(max_length=4096)]) -> Response:
    principal, why = _operator(request, token.strip())
    if principal is None:
        return _login_page(why or "Paste an operator token.",
                           status=403 if "role" in why else 401)
    return _signed_in(request, "/dashboard", token.strip())


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/dashboard", status_code=303)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


@router.get("/data")
def data(request: Request, uow: UowDep, cluster: ClusterQuery = None,
         window: WindowText = "1h", buckets: Buckets = 12) -> dict[str, Any]:
    """``/v1/stats``, ``/v1/stats/series`` and the first orders at risk in one answer, for the
    page's cookie."""
    principal, why = _operator(request, request.cookies.get(COOKIE))
    if principal is None:
        raise Problem(401, "Unauthorized", why or "sign in at /dashboard first")
    cluster = cluster or None
    stats = stats_public(uow=uow, cluster=cluster, window=window)
    series = series_public(uow=request.app.state.runtime.uow_factory(), cluster=cluster,
                           window=window, buckets=buckets)
    at_risk = orders_at_risk_public(uow=request.app.state.runtime.uow_factory(),
                                    cluster=cluster, cursor=None, limit=AT_RISK_SHOWN)
    return {"stats": stats.model_dump(mode="json"), "series": series.model_dump(mode="json"),
            "at_risk": at_risk.model_dump(mode="json")["items"]}


@router.get("/assets/{name}")
def asset(name: str) -> Response:
    types = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
    if name not in types:
        raise Problem(404, "Not found", f"no asset {name}")
    return Response((ASSETS / name).read_bytes(), media_type=types[name],
                    headers={"Cache-Control": "no-cache"})
