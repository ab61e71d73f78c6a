"""An httpx transport answered by in-process apps (TestClient), so CLI commands run against
real FastAPI apps and databases without ports: pass it as ``CliRunner.invoke(..., obj=)``."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient


class AppTransport(httpx.BaseTransport):
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        answer = self.client.request(request.method, request.url.raw_path.decode("ascii"),
                                     headers=headers, content=request.read())
        keep = {k: v for k, v in answer.headers.items()
                if k.lower() not in ("content-length", "content-encoding")}
        return httpx.Response(answer.status_code, headers=keep, content=answer.content)
