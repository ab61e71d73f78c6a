"""A producer client that fails is dropped even when it cannot close (it cannot flush to a
broker that forgot it): the next send gets a new client."""

from __future__ import annotations

import pytest
from kafka.errors import KafkaTimeoutError

from shared.messaging import producer as producer_module
from shared.settings import ServiceSettings


class StuckClient:
    made = 0

    def __init__(self, **_: object) -> None:
        StuckClient.made += 1
        self.closes: list[float] = []

    def send(self, topic, key=None, value=None, headers=None):  # type: ignore[no-untyped-def]
        raise KafkaTimeoutError("Timeout waiting for future")

    def close(self, timeout: float) -> None:
        self.closes.append(timeout)
        if timeout > 0:
            raise KafkaTimeoutError("Timeout waiting for future")  # close() flushes first


def test_a_client_that_cannot_close_is_replaced(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(producer_module, "KafkaProducer", StuckClient)
    producer = producer_module.Producer(ServiceSettings())
    for _ in range(2):
        with pytest.raises(KafkaTimeoutError):
            producer.send_batch([("orders.v1", "k", b"{}")])
    assert StuckClient.made == 2  # a new client for the second attempt
