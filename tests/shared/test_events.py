import json
import uuid

import pytest

from shared.events import PoisonEvent, decode, encode, new_event, payload_class, topic_of
from shared.events.payloads import ClusterCreated, OrderSubmitted


def _cluster() -> ClusterCreated:
    return ClusterCreated(cluster_id="qhd-auto", name="Q", lat=39.9, lon=119.6, max_distance_km=60)


def test_round_trip_keeps_envelope_and_payload():
    envelope = new_event(_cluster(), key="qhd-auto", producer="capacity",
                         correlation_id="c1", causation_id=uuid.UUID(int=7))
    parsed_envelope, payload = decode(encode(envelope))
    assert parsed_envelope == envelope
    assert payload == _cluster()
    assert parsed_envelope.causation_id == str(uuid.UUID(int=7))
    assert parsed_envelope.occurred_at.tzinfo is not None


def test_envelope_has_the_designed_fields():
    body = json.loads(encode(new_event(_cluster(), key="qhd-auto", producer="capacity")))
    assert set(body) == {"event_id", "type", "version", "occurred_at", "producer", "key",
                         "correlation_id", "causation_id", "payload"}
    assert body["type"] == "cluster.created" and body["version"] == 1


@pytest.mark.parametrize("raw, message", [
    (b"\xff\xfe", "not UTF-8 JSON"),
    (b"{not json", "not UTF-8 JSON"),
    (b'{"type": "cluster.created"}', "invalid envelope"),
    (None, "empty message"),
])
def test_unparseable_messages_are_poison(raw, message):
    with pytest.raises(PoisonEvent, match=message):
        decode(raw)


def _with(**changes) -> bytes:
    body = json.loads(encode(new_event(_cluster(), key="k", producer="p")))
    body.update(changes)
    return json.dumps(body).encode()


def test_unknown_type_and_version_and_bad_payload_are_poison():
    with pytest.raises(PoisonEvent, match="unknown event type"):
        decode(_with(type="cluster.exploded"))
    with pytest.raises(PoisonEvent, match="unknown version 9"):
        decode(_with(version=9))
    with pytest.raises(PoisonEvent, match="invalid"):
        decode(_with(payload={"cluster_id": "x"}))


def test_every_type_routes_to_its_topic():
    assert topic_of("order.submitted") == "orders.v1"
    assert topic_of("cluster.created") == "capacity.v1"
    assert topic_of("allocation.proposed") == "matching.v1"
    assert payload_class("order.submitted", 1) is OrderSubmitted
