"""The event envelope (JSON, UTF-8) and the registry of payload types per (type, version)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

_REGISTRY: dict[tuple[str, int], type[EventPayload]] = {}


class EventPayload(BaseModel):
    """Base of every payload. Subclasses set TYPE, VERSION and TOPIC and are registered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    TYPE: ClassVar[str]
    VERSION: ClassVar[int]
    TOPIC: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "TYPE" in cls.__dict__:
            key = (cls.TYPE, cls.VERSION)
            if key in _REGISTRY:
                raise TypeError(f"event {key} registered twice")
            _REGISTRY[key] = cls


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str
    key: str
    correlation_id: str | None = None
    causation_id: str | None = None
    payload: dict[str, Any]

    def parsed(self) -> EventPayload:
        """The payload as its registered model (raises PoisonEvent if it is not valid)."""
        cls = payload_class(self.type, self.version)
        try:
            return cls.model_validate(self.payload)
        except ValidationError as exc:
            raise PoisonEvent(f"payload of {self.type} v{self.version} is invalid: {exc}") from exc


class PoisonEvent(Exception):
    """A message that can never be applied: bad JSON, unknown type or version, invalid payload."""


def payload_class(type_: str, version: int) -> type[EventPayload]:
    try:
        return _REGISTRY[(type_, version)]
    except KeyError:
        known = sorted(v for (t, v) in _REGISTRY if t == type_)
        if known:
            raise PoisonEvent(f"unknown version {version} of {type_} (known: {known})") from None
        raise PoisonEvent(f"unknown event type {type_!r}") from None


def topic_of(type_: str) -> str:
    for (t, _), cls in _REGISTRY.items():
        if t == type_:
            return cls.TOPIC
    raise KeyError(type_)


def new_event(
    payload: EventPayload,
    *,
    key: str,
    producer: str,
    correlation_id: str | None = None,
    causation_id: str | uuid.UUID | None = None,
) -> Envelope:
    return Envelope(
        type=payload.TYPE,
        version=payload.VERSION,
        producer=producer,
        key=key,
        correlation_id=correlation_id,
        causation_id=str(causation_id) if causation_id is not None else None,
        payload=payload.model_dump(mode="json"),
    )


def encode(envelope: Envelope) -> bytes:
    return envelope.model_dump_json().encode("utf-8")


def decode(raw: bytes | None) -> tuple[Envelope, EventPayload]:
    """Parse and validate a message; any failure is a PoisonEvent."""
    if raw is None:
        raise PoisonEvent("empty message")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonEvent(f"not UTF-8 JSON: {exc}") from exc
    try:
        envelope = Envelope.model_validate(data)
    except ValidationError as exc:
        raise PoisonEvent(f"invalid envelope: {exc}") from exc
    return envelope, envelope.parsed()
