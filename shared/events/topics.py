"""Kafka topics. The key of every message is the cluster id."""

ORDERS = "orders.v1"
CAPACITY = "capacity.v1"
MATCHING = "matching.v1"
TOPICS = (ORDERS, CAPACITY, MATCHING)
DLQ_SUFFIX = ".dlq"


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


ALL_TOPICS = TOPICS + tuple(dlq_topic(t) for t in TOPICS)
