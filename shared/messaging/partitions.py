"""Partitions and ownership: which partition a key maps to, where a consumer stands, and what it
has caught up on after a rebalance (the matcher plans only clusters it owns)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from kafka.partitioner.default import murmur2


def partition_for_key(key: str, partitions: int) -> int:
    """The partition kafka-python's default partitioner gives ``key`` (murmur2, as Java's)."""
    return (murmur2(key.encode("utf-8")) & 0x7FFFFFFF) % partitions


@dataclass(frozen=True)
class RecordPosition:
    """Where an applied record sat: a handler that stores offsets records it with its effect."""

    topic: str
    partition: int
    offset: int


class OffsetStore(Protocol):
    """The consumer's own record of applied offsets (in the service's database)."""

    def load(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The last applied offset of each partition that has one."""

    def save(self, position: RecordPosition) -> None:
        """Record a position the handler did not store itself (a dead-lettered record)."""


class TopicIdStore(Protocol):
    """Optional part of an OffsetStore: the broker's id of each topic the offsets came from.

    A topic id changes when the topic is created anew (a broker that keeps nothing restarted,
    or an operator recreated it); offsets stored from the old topic mean nothing in the new one.
    """

    def check_topic_ids(self, current: Mapping[str, str]) -> set[str]:
        """Store ``current`` (topic → id); for each topic whose stored id differs, forget its
        stored offsets, and return those topics."""


@dataclass(frozen=True)
class Assignment:
    """A consumer's partitions after a rebalance; ``ready`` are those whose history up to the
    end offset seen at assignment has been applied."""

    assigned: frozenset[tuple[str, int]]
    ready: frozenset[tuple[str, int]]
    partition_counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def caught_up(self) -> bool:
        return self.ready == self.assigned

    def holds_key(self, key: str) -> bool:
        """True if the partition ``key`` maps to is ready in every subscribed topic."""
        if not self.partition_counts:
            return False
        return all((topic, partition_for_key(key, n)) in self.ready
                   for topic, n in self.partition_counts.items())
