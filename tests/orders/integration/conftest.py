"""The orders app on a fresh database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.orders.bootstrap import create_app
from services.orders.config import Settings
from shared.events.payloads import ClusterCreated
from tests.orders.integration.support import CLUSTER, feed


@pytest.fixture
def app(database_url: str) -> FastAPI:
    return create_app(Settings(database_url=database_url, kafka_consumer_enabled=False,
                               outbox_relay_enabled=False))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:  # runs the migrations
        feed(app, ClusterCreated(cluster_id=CLUSTER, name="Qinhuangdao auto parts", lat=39.93,
                                 lon=119.60, max_distance_km=60))
        yield client
