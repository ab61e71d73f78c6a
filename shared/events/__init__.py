"""Event contracts: the envelope and one versioned pydantic payload per event type."""

from shared.events.envelope import (
    Envelope,
    EventPayload,
    PoisonEvent,
    decode,
    encode,
    new_event,
    payload_class,
    topic_of,
)
from shared.events.topics import DLQ_SUFFIX, TOPICS, dlq_topic

__all__ = [
    "DLQ_SUFFIX",
    "TOPICS",
    "Envelope",
    "EventPayload",
    "PoisonEvent",
    "decode",
    "dlq_topic",
    "encode",
    "new_event",
    "payload_class",
    "topic_of",
]

# Register every payload type on import of the package.
from shared.events import payloads as _payloads  # noqa: E402,F401
