"""RFC 9457 problem details: every error a service returns is ``application/problem+json``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.transient import RETRY_AFTER_S, is_transient_db_error

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://sharefab.dev/problems/"


class Problem(Exception):
    """Raise from a route or handler to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ or TYPE_BASE + title.lower().replace(" ", "-")
        self.errors = errors
        self.headers = headers


def problem_response(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str,
    type_: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_ or TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(
        jsonable_encoder(body), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        errors.append({"field": ".".join(loc), "message": err.get("msg", ""),
                       "type": err.get("type", "")})
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, status=exc.status, title=exc.title, detail=exc.detail,
                                type_=exc.type, errors=exc.errors, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        fields = ", ".join(e["field"] for e in errors)
        return problem_response(request, status=422, title="Validation failed",
                                detail=f"invalid fields: {fields}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed",
                 413: "Content too large"}.get(exc.status_code, "HTTP error")
        return problem_response(request, status=exc.status_code, title=title,
                                detail=str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        if not is_transient_db_error(exc):
            return await _unexpected(request, exc)
        logger.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                       str(exc).splitlines()[0])
        return problem_response(request, status=503, title="Service unavailable",
                                detail="the database is unavailable for the moment; please retry",
                                headers={"Retry-After": str(RETRY_AFTER_S)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, status=500, title="Internal error",
                                detail="an unexpected error occurred; it has been logged")
