"""FastAPI's own OpenTelemetry instrumentation is off unless ``OTEL_TELEMETRY`` turns it on:
then a configured tracer provider gets a span per request."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace

from services.orders.bootstrap import create_app
from services.orders.config import Settings


class RecordingTracer(trace.NoOpTracer):
    def __init__(self, names: list[str]) -> None:
        self.names = names

    def start_span(self, name, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        self.names.append(name)
        return super().start_span(name, *args, **kwargs)


class RecordingProvider(trace.TracerProvider):
    """A configured provider (neither OTel's proxy nor its no-op), recording spans started."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def get_tracer(self, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        return RecordingTracer(self.names)


@pytest.mark.parametrize("enabled", [False, True], ids=["default-off", "on"])
def test_fastapi_spans_only_when_turned_on(enabled: bool, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    provider = RecordingProvider()
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'orders.db'}",
                        kafka_consumer_enabled=False, outbox_relay_enabled=False,
                        **({"otel_telemetry": True} if enabled else {}))
    assert Settings().otel_telemetry is False
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
    assert ("GET" in provider.names) is enabled, provider.names  # the request's server span
