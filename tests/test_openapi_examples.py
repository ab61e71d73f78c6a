"""Every service's OpenAPI document shows each of our schemas with an example."""

import importlib

import pytest

FASTAPI_OWN = {"HTTPValidationError", "ValidationError"}  # answered as problem+json anyway


@pytest.mark.parametrize("service", ["orders", "capacity", "matcher"])
def test_every_schema_has_an_example(service):
    bootstrap = importlib.import_module(f"services.{service}.bootstrap")
    settings = importlib.import_module(f"services.{service}.config").Settings(
        database_url="sqlite://", kafka_consumer_enabled=False, outbox_relay_enabled=False)
    schemas = bootstrap.create_app(settings).openapi()["components"]["schemas"]
    missing = [name for name, schema in schemas.items()
               if name not in FASTAPI_OWN and "enum" not in schema
               and not (schema.get("examples") or schema.get("example"))]
    assert missing == [], f"{service}: schemas without an example: {missing}"
