"""The OpenAPI document of capacity: its new schemas and paths, and both CSV upload forms."""

from __future__ import annotations

import pytest

from services.capacity.bootstrap import create_app
from services.capacity.config import Settings


@pytest.fixture(scope="module")
def openapi() -> dict:
    app = create_app(Settings(database_url="sqlite://", kafka_consumer_enabled=False,
                              outbox_relay_enabled=False))
    return app.openapi()


def test_the_new_schemas_are_documented(openapi: dict) -> None:
    assert {"WindowUpdate", "WindowsImported", "AvailabilityPublic", "AvailabilityBucket",
            "ReservationsPublic", "FactoryPublic"} <= set(openapi["components"]["schemas"])


def test_the_import_documents_both_upload_forms(openapi: dict) -> None:
    body = openapi["paths"]["/v1/windows:import"]["post"]["requestBody"]["content"]
    assert body["text/csv"]["example"].startswith("machine_id,start,end,hours\n")
    assert body["multipart/form-data"]["schema"]["required"] == ["file"]


def test_every_capacity_path_is_there(openapi: dict) -> None:
    paths = {(m.upper(), p) for p, ops in openapi["paths"].items() for m in ops}
    assert {("GET", "/v1/windows/{window_id}"), ("PATCH", "/v1/windows/{window_id}"),
            ("DELETE", "/v1/windows/{window_id}"), ("POST", "/v1/windows:import"),
            ("GET", "/v1/availability"), ("GET", "/v1/machines/{machine_id}")} <= paths
