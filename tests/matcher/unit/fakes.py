"""An in-memory unit of work for the service-layer tests."""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from services.matcher.domain.model import Allocation, Plan, Unplaced
from services.matcher.domain.readmodel import (
    OPEN,
    PENDING,
    PLACED,
    ClusterSnapshot,
    FactoryRecord,
    MachineRecord,
    OrderRecord,
    QueuedOrder,
    StepState,
    WindowRecord,
)
from services.matcher.domain.runs import MatchRun
from shared.events import Envelope


class FakeReadModel:
    def __init__(self) -> None:
        self.clusters: dict[str, dict[str, Any]] = {}
        self.epochs: dict[str, int] = {}
        self.factories: dict[str, FactoryRecord] = {}
        self.machines: dict[str, MachineRecord] = {}
        self.windows: dict[str, WindowRecord] = {}
        self.orders: dict[str, OrderRecord] = {}
        self.steps: dict[str, StepState] = {}
        self.first_proposed: dict[str, datetime] = {}
        self.locked: list[str] = []

    def upsert_cluster(self, *, cluster_id: str, **fields: Any) -> None:
        self.clusters[cluster_id] = fields

    def cluster_exists(self, cluster_id: str) -> bool:
        return cluster_id in self.clusters

    def lock_cluster(self, cluster_id: str) -> None:
        self.locked.append(cluster_id)

    def plan_epoch(self, cluster_id: str) -> int:
        return self.epochs.get(cluster_id, 0)

    def bump_plan_epoch(self, cluster_id: str) -> None:
        self.epochs[cluster_id] = self.epochs.get(cluster_id, 0) + 1

    def steps_of_orders(self, order_ids: list[str]) -> list[StepState]:
        wanted = set(order_ids)
        return sorted((copy.deepcopy(s) for s in self.steps.values() if s.order_id in wanted),
                      key=lambda s: (s.order_id, s.position))

    def upsert_factory(self, record: FactoryRecord) -> None:
        self.factories[record.id] = record

    def get_factory(self, factory_id: str) -> FactoryRecord | None:
        return self.factories.get(factory_id)

    def upsert_machine(self, record: MachineRecord) -> None:
        self.machines[record.id] = record

    def get_machine(self, machine_id: str) -> MachineRecord | None:
        return self.machines.get(machine_id)

    def upsert_window(self, record: WindowRecord) -> None:
        self.windows[record.id] = record

    def get_window(self, window_id: str) -> WindowRecord | None:
        return self.windows.get(window_id)

    def delete_window(self, window_id: str) -> bool:
        return self.windows.pop(window_id, None) is not None

    def add_order(self, order: OrderRecord, steps: list[StepState]) -> bool:
        if order.id in self.orders:
            return False
        self.orders[order.id] = order
        for s in steps:
            self.save_step(s)
        return True

    def get_order(self, order_id: str) -> OrderRecord | None:
        return self.orders.get(order_id)

    def first_proposals(self, order_ids: list[str], *, at: datetime) -> list[float]:
        fresh = [i for i in order_ids if i in self.orders and i not in self.first_proposed]
        self.first_proposed.update(dict.fromkeys(fresh, at))
        return [(at - self.orders[i].submitted_at).total_seconds() for i in fresh
                if self.orders[i].submitted_at is not None]

    def get_step(self, step_id: str) -> StepState | None:
        s = self.steps.get(step_id)
        return copy.deepcopy(s) if s else None

    def prefetch_steps(self, step_ids: Iterable[str]) -> None:
        pass  # nothing to read ahead in memory

    def order_steps(self, order_id: str) -> list[StepState]:
        return [copy.deepcopy(s) for s in self.steps.values() if s.order_id == order_id]

    def cluster_steps(self, cluster_id: str, *, status: str) -> list[StepState]:
        return [copy.deepcopy(s) for s in self.steps.values()
                if s.cluster_id == cluster_id and s.status == status]

    def window_steps(self, window_id: str) -> list[StepState]:
        return [copy.deepcopy(s) for s in self.steps.values() if s.window_id == window_id]

    def save_step(self, step: StepState) -> None:
        self.steps[step.id] = copy.deepcopy(step)

    def save_steps(self, steps: list[StepState]) -> None:
        for step in steps:
            self.save_step(step)

    def pending_count(self, cluster_id: str) -> int:
        return sum(1 for s in self.steps.values()
                   if s.cluster_id == cluster_id and s.status == PENDING)

    def pending_queue(self, cluster_id: str) -> list[QueuedOrder]:
        waiting = {s.order_id for s in self.steps.values()
                   if s.cluster_id == cluster_id and s.status == PENDING}
        return [QueuedOrder(order_id=o, priority=self.orders[o].priority, due=self.orders[o].due,
                            open_steps=sum(1 for s in self.steps.values()
                                           if s.order_id == o and s.status in OPEN),
                            submitted_at=self.orders[o].submitted_at)
                for o in sorted(waiting)]

    def clusters_with_pending(self) -> list[str]:
        return sorted({s.cluster_id for s in self.steps.values()
                       if s.status == PENDING and s.cluster_id in self.clusters})

    def snapshot(self, cluster_id: str, *, now: datetime,
                 order_ids: list[str]) -> ClusterSnapshot:
        steps = [copy.deepcopy(s) for s in self.steps.values() if s.order_id in order_ids]
        used: dict[str, float] = {}
        for s in self.steps.values():
            if s.status in PLACED and s.window_id:
                used[s.window_id] = used.get(s.window_id, 0.0) + s.hours
        held_on = {s.window_id for s in steps}
        windows = [WindowRecord(**{**w.__dict__, "used_hours": used.get(w.id, 0.0)})
                   for w in self.windows.values()
                   if w.cluster_id == cluster_id and (w.end > now or w.id in held_on)]
        return ClusterSnapshot(
            cluster_id=cluster_id,
            factories=[f for f in self.factories.values() if f.cluster_id == cluster_id],
            machines=[m for m in self.machines.values() if m.cluster_id == cluster_id],
            windows=windows, orders=[self.orders[o] for o in order_ids], steps=steps)


class FakeRuns:
    def __init__(self) -> None:
        self.runs: dict[str, tuple[MatchRun, Plan, dict[str, Any]]] = {}

    def exists(self, run_id: str) -> bool:
        return run_id in self.runs

    def stored(self, run_ids: Collection[str]) -> set[str]:
        return {r for r in run_ids if r in self.runs}

    def add(self, run: MatchRun, *, plan: Plan, snapshot: dict[str, Any]) -> None:
        self.runs[run.id] = (run, plan, snapshot)

    def snapshot(self, run_id: str) -> dict[str, Any] | None:
        return self.runs[run_id][2] if run_id in self.runs else None

    def get(self, run_id: str) -> tuple[MatchRun, list[Allocation], list[Unplaced]] | None:
        if run_id not in self.runs:
            return None
        run, plan, _ = self.runs[run_id]
        return run, list(plan.allocations), list(plan.unplaced)

    def list(self, *, cluster_id: str | None, after: tuple[datetime, str] | None,
             limit: int) -> list[MatchRun]:
        runs = sorted((r for r, _, _ in self.runs.values()
                       if cluster_id is None or r.cluster_id == cluster_id),
                      key=lambda r: (r.started_at, r.id), reverse=True)
        if after is not None:
            runs = [r for r in runs if (r.started_at, r.id) < after]
        return runs[:limit]


class FakeOffsets:
    def __init__(self) -> None:
        self.offsets: dict[tuple[str, int], int] = {}

    def record(self, *, topic: str, partition: int, offset: int) -> None:
        self.offsets[(topic, partition)] = offset

    def load(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return {tp: o for tp, o in self.offsets.items() if tp in set(partitions)}


class FakeUnitOfWork:
    """Commits are counted; nothing is rolled back (tests look at what a commit kept)."""

    def __init__(self) -> None:
        self.read_model = FakeReadModel()
        self.runs = FakeRuns()
        self.offsets = FakeOffsets()
        self.inbox: set[tuple[str, str]] = set()
        self.published: list[Envelope] = []
        self.commits = 0

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, *args: Any) -> None:
        pass

    def publish(self, envelope: Envelope) -> None:
        self.published.append(envelope)

    def publish_all(self, envelopes) -> None:  # type: ignore[no-untyped-def]
        self.published.extend(envelopes)

    def claim_all(self, consumer: str, envelopes: list[Envelope]) -> list[bool]:
        return [self.claim(consumer, e) for e in envelopes]

    def claim(self, consumer: str, envelope: Envelope) -> bool:
        key = (consumer, str(envelope.event_id))
        if key in self.inbox:
            return False
        self.inbox.add(key)
        return True

    def commit(self) -> None:
        self.commits += 1

    def types(self) -> list[str]:
        return [e.type for e in self.published]
