"""Stored offsets and topic ids (SQLite, and PostgreSQL when configured): a topic created anew
on the broker (new id) loses its stored offsets; the same id keeps them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.matcher.adapters.unit_of_work import UowOffsetStore
from shared.messaging.partitions import RecordPosition

pytestmark = pytest.mark.integration


def test_a_new_topic_id_forgets_that_topics_offsets(client: TestClient) -> None:
    store = UowOffsetStore(client.app.state.runtime.uow_factory)
    parts = [("orders.v1", 0), ("orders.v1", 1), ("capacity.v1", 0)]
    assert store.check_topic_ids({"orders.v1": "id-o1", "capacity.v1": "id-c1"}) == set()
    for topic, partition in parts:
        store.save(RecordPosition(topic=topic, partition=partition, offset=41))
    assert store.check_topic_ids({"orders.v1": "id-o1", "capacity.v1": "id-c1"}) == set()
    assert store.load(parts) == dict.fromkeys(parts, 41)

    assert store.check_topic_ids({"orders.v1": "id-o2", "capacity.v1": "id-c1"}) == {"orders.v1"}
    assert store.load(parts) == {("capacity.v1", 0): 41}
    assert store.check_topic_ids({"orders.v1": "id-o2"}) == set()  # the new id is stored
