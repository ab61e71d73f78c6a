"""/healthz and /readyz: no token needed; readiness names what is unreachable."""

import pytest
from sqlalchemy import create_engine

from sharefab_cli.stack import free_port

pytestmark = pytest.mark.integration


def test_healthz_needs_no_token(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_503_while_the_broker_is_unreachable(client):
    client.app.state.runtime.settings.kafka_bootstrap_servers = f"127.0.0.1:{free_port()}"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["broker"] == "unreachable"


def test_readyz_is_503_while_the_database_is_unreachable(client):
    runtime = client.app.state.runtime
    healthy = runtime.engine
    runtime.engine = create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/x")
    try:
        response = client.get("/readyz")
    finally:
        runtime.engine = healthy
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable")


class _Consumer:
    alive, joined = True, False


def test_readyz_says_joining_until_the_consumer_caught_up(client):
    """Until then the service does not know what the others published before it started (a
    new cluster, say): a client that waits for ready does not race it."""
    runtime = client.app.state.runtime
    before, runtime.consumer = runtime.consumer, _Consumer()
    try:
        joining = client.get("/readyz").json()["checks"]["consumer"]
        runtime.consumer.joined = True
        joined = client.get("/readyz").json()["checks"]["consumer"]
        runtime.consumer.alive = False
        stopped = client.get("/readyz").json()["checks"]["consumer"]
    finally:
        runtime.consumer = before
    assert (joining, joined, stopped) == ("joining", "ok", "stopped")


def test_every_response_carries_a_correlation_id(client):
    given = client.get("/healthz", headers={"X-Correlation-ID": "trace-42"})
    assert given.headers["X-Correlation-ID"] == "trace-42"
    made = client.get("/healthz").headers["X-Correlation-ID"]
    assert len(made) == 32 and made != client.get("/healthz").headers["X-Correlation-ID"]
