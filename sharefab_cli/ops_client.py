"""HTTP calls of the operator commands (``sharefab stats``, ``match-runs``, ``replay``, ``demo``)
with every failure turned into one clear sentence: a service that is down, a token it refuses,
a request it rejects. Commands print the sentence and exit non-zero — never a traceback."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from shared.auth import Role, issue_token
from shared.settings import ServiceSettings

DEFAULT_URLS = {"orders": "http://127.0.0.1:8001", "capacity": "http://127.0.0.1:8002",
                "matcher": "http://127.0.0.1:8003"}  # where `sharefab run` serves them


class OpsError(Exception):
    """A failure the user can act on; ``exit_code`` 1 (service) or 2 (configuration)."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def jwt_secret() -> str:
    """The secret `sharefab token` signs with (JWT_SECRET), or a configuration error."""
    try:
        return ServiceSettings().jwt_secret
    except ValueError as exc:
        raise OpsError(f"configuration error: {exc}", exit_code=2) from exc


def mint(*, firm: str, role: Role, clusters: Iterable[str] = (), hours: float = 12.0) -> str:
    """A token like `sharefab token` prints, signed with the services' JWT_SECRET."""
    return issue_token(jwt_secret(), firm_id=firm, role=role, clusters=list(clusters),
                       ttl=timedelta(hours=hours))


def operator_token(given: str | None) -> str:
    """The ``--token`` given, else an operator token minted with JWT_SECRET."""
    return given or mint(firm="platform", role=Role.OPERATOR)


@dataclass
class ServiceClient:
    """One service's API with one token; ``transport`` lets tests answer from in-process apps."""

    service: str
    base_url: str
    token: str
    transport: httpx.BaseTransport | None = None
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, transport=self.transport,
                                  timeout=self.timeout_s,
                                  headers={"Authorization": f"Bearer {self.token}"})

    def with_token(self, token: str) -> ServiceClient:
        """The same service, another caller (shares nothing but the transport)."""
        return ServiceClient(self.service, self.base_url, token, self.transport, self.timeout_s)

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=clean).json()

    def items(self, path: str, **params: Any) -> Iterator[Any]:
        """Every item of a paged list, following ``next_cursor`` page by page."""
        cursor = None
        while True:
            page = self.get(path, **params, cursor=cursor)
            yield from page["items"]
            if not (cursor := page["next_cursor"]):
                return

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=body, **kwargs).json()

    def request(self, method: str, path: str, *, ok: Iterable[int] = (200, 201),
                **kwargs: Any) -> httpx.Response:
        """The answer, if its status is in ``ok``; else an OpsError saying what went wrong."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise OpsError(
                f"cannot reach the {self.service} service at {self.base_url} ({_reason(exc)}). "
                f"Is it running? `sharefab run` starts it; otherwise pass "
                f"--{self.service}-url.") from exc
        except httpx.TimeoutException as exc:
            raise OpsError(f"the {self.service} service at {self.base_url} did not answer "
                           f"within {self.timeout_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise OpsError(f"talking to the {self.service} service at {self.base_url} failed: "
                           f"{_reason(exc)}") from exc
        if response.status_code in set(ok):
            return response
        raise OpsError(self.explain(response, f"{method} {path}"))

    def explain(self, response: httpx.Response, what: str) -> str:
        problem = _problem(response)
        detail = problem.get("detail") or problem.get("title") or response.reason_phrase
        if response.status_code == 401:
            return (f"the {self.service} service refused the token (401: {detail}). Use a "
                    "token signed with the services' JWT_SECRET, e.g. "
                    "`sharefab token --firm platform --role operator`.")
        if response.status_code == 403:
            return (f"the {self.service} service does not allow this token to {what} "
                    f"(403: {detail}); it needs an operator token.")
        message = f"{self.service} answered {response.status_code} to {what}: {detail}"
        errors = problem.get("errors") or []
        fields = "; ".join(_field(e, detail) for e in errors[:5] if isinstance(e, dict))
        return f"{message} ({fields})" if fields else message

    def close(self) -> None:
        self._http.close()


def _field(error: dict[str, Any], detail: str) -> str:
    """A problem's field error, its message left out when the detail already says it."""
    message = error.get("message")
    if not message or str(message) in detail:
        return str(error.get("field"))
    return f"{error.get('field')}: {message}"


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return "connection refused" if "refused" in text.lower() else text
