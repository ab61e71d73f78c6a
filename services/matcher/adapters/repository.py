"""The read model and the match runs over SQLAlchemy: rows in, domain records out."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from services.matcher.adapters.orm import (
    ClusterRow,
    ConsumerOffsetRow,
    ConsumerTopicRow,
    FactoryRow,
    MachineRow,
    MatchRunRow,
    OrderRow,
    ProposalRow,
    RunUnplacedRow,
    StepRow,
    WindowRow,
)
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
from shared.db import insert_new, upsert

STEPS, ORDERS, WINDOWS = StepRow.__table__, OrderRow.__table__, WindowRow.__table__
_SAVE_STEP = update(STEPS).where(STEPS.c.id == bindparam("step_id"))


class SqlReadModel:
    """One per transaction (the unit of work makes it with its session)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._locked: set[str] = set()  # clusters locked in this transaction
        self._bumped: set[str] = set()  # clusters whose plan epoch this transaction moved
        self._prefetched: dict[str, Any] = {}  # step rows read ahead, until written

    def upsert_cluster(self, *, cluster_id: str, name: str, lat: float, lon: float,
                       max_distance_km: float) -> None:
        self.session.merge(ClusterRow(id=cluster_id, name=name, lat=lat, lon=lon,
                                      max_distance_km=max_distance_km))

    def cluster_exists(self, cluster_id: str) -> bool:
        return self.session.get(ClusterRow, cluster_id) is not None

    def plan_epoch(self, cluster_id: str) -> int:
        return self.session.scalar(select(ClusterRow.plan_epoch).where(
            ClusterRow.id == cluster_id)) or 0

    def bump_plan_epoch(self, cluster_id: str) -> None:
        if cluster_id in self._bumped:
            return  # once is enough: a run compares epochs across transactions
        self._bumped.add(cluster_id)
        self.session.execute(update(ClusterRow).where(ClusterRow.id == cluster_id)
                             .values(plan_epoch=ClusterRow.plan_epoch + 1))

    def steps_of_orders(self, order_ids: Sequence[str]) -> list[StepState]:
        return self._steps(select(STEPS).where(STEPS.c.order_id.in_(list(order_ids)))
                           .order_by(STEPS.c.order_id, STEPS.c.position))

    def lock_cluster(self, cluster_id: str) -> None:
        if cluster_id in self._locked:
            return  # held until this transaction ends (a group of events takes it once)
        self.session.execute(select(ClusterRow.id).where(ClusterRow.id == cluster_id)
                             .with_for_update())
        self._locked.add(cluster_id)

    def upsert_factory(self, r: FactoryRecord) -> None:
        self.session.merge(FactoryRow(
            id=r.id, firm_id=r.firm_id, cluster_id=r.cluster_id, name=r.name, lat=r.lat,
            lon=r.lon, declared_tier=r.declared_tier, verified_tier=r.verified_tier, sme=r.sme,
            certifications=list(r.certifications)))

    def get_factory(self, factory_id: str) -> FactoryRecord | None:
        row = self.session.get(FactoryRow, factory_id)
        return _factory(row) if row else None

    def get_machine(self, machine_id: str) -> MachineRecord | None:
        row = self.session.get(MachineRow, machine_id)
        return _machine(row) if row else None

    def upsert_machine(self, r: MachineRecord) -> None:
        self.session.merge(MachineRow(
            id=r.id, factory_id=r.factory_id, cluster_id=r.cluster_id, name=r.name,
            process=r.process, materials=list(r.materials), hourly_rate=r.hourly_rate))

    def upsert_window(self, r: WindowRecord) -> None:
        self.session.merge(WindowRow(
            id=r.id, machine_id=r.machine_id, factory_id=r.factory_id, cluster_id=r.cluster_id,
            start_at=r.start, end_at=r.end, hours=r.hours))

    def get_window(self, window_id: str) -> WindowRecord | None:
        row = self.session.get(WindowRow, window_id)
        return _window(row) if row else None

    def delete_window(self, window_id: str) -> bool:
        row = self.session.get(WindowRow, window_id)
        if row is None:
            return False
        self.session.delete(row)
        return True

    def add_order(self, order: OrderRecord, steps: list[StepState]) -> bool:
        new = self.session.execute(insert_new(ORDERS, self.session.get_bind().dialect.name), {
            "id": order.id, "buyer_firm_id": order.buyer_firm_id,
            "cluster_id": order.cluster_id, "title": order.title,
            "delivery_lat": order.delivery_lat, "delivery_lon": order.delivery_lon,
            "due": order.due, "min_tier": order.min_tier,
            "certifications": list(order.certifications),
            "max_distance_km": order.max_distance_km, "priority": order.priority,
            "budget": order.budget, "allowed_factories": list(order.allowed_factories),
            "blocked_factories": list(order.blocked_factories),
            "max_factories": order.max_factories, "submitted_at": order.submitted_at}).first()
        if new is None:
            return False  # known already
        if steps:
            at = datetime.now(UTC)
            self.session.execute(insert(STEPS), [_step_values(s, at) for s in steps])
        return True

    def get_order(self, order_id: str) -> OrderRecord | None:
        row = self.session.get(OrderRow, order_id)
        return _order(row) if row else None

    # Steps are read and written with Core statements, never as ORM objects: a planning run
    # writes hundreds at once, and no stale ORM copy can outlive a write in the same session.
    def get_step(self, step_id: str) -> StepState | None:
        row = self._prefetched.get(step_id)
        if row is None:
            row = self.session.execute(select(STEPS).where(STEPS.c.id == step_id)).first()
        return _step(row) if row else None

    def prefetch_steps(self, step_ids: Iterable[str]) -> None:
        wanted = sorted(set(step_ids) - self._prefetched.keys())
        for start in range(0, len(wanted), 500):
            rows = self.session.execute(select(STEPS).where(
                STEPS.c.id.in_(wanted[start:start + 500])))
            self._prefetched.update({r.id: r for r in rows})

    def order_steps(self, order_id: str) -> list[StepState]:
        return self._steps(select(STEPS).where(STEPS.c.order_id == order_id)
                           .order_by(STEPS.c.position))

    def cluster_steps(self, cluster_id: str, *, status: str) -> list[StepState]:
        return self._steps(select(STEPS).where(STEPS.c.cluster_id == cluster_id,
                                               STEPS.c.status == status).order_by(STEPS.c.id))

    def window_steps(self, window_id: str) -> list[StepState]:
        return self._steps(select(STEPS).where(STEPS.c.window_id == window_id)
                           .order_by(STEPS.c.id))

    def _steps(self, query: Select[Any]) -> list[StepState]:
        return [_step(r) for r in self.session.execute(query)]

    def save_step(self, s: StepState) -> None:
        self.save_steps([s])

    def save_steps(self, steps: Sequence[StepState]) -> None:
        """What planning and events change on existing steps, one UPDATE for all."""
        if steps:
            for s in steps:
                self._prefetched.pop(s.id, None)  # read again if wanted again
            at = datetime.now(UTC)
            self.session.execute(_SAVE_STEP, [{"step_id": s.id, **_step_state(s, at)}
                                              for s in steps])

    def first_proposals(self, order_ids: list[str], *, at: datetime) -> list[float]:
        rows = self.session.execute(select(OrderRow.id, OrderRow.submitted_at).where(
            OrderRow.id.in_(order_ids), OrderRow.first_proposed_at.is_(None))).all()
        if not rows:
            return []
        self.session.execute(update(OrderRow).where(OrderRow.id.in_([r.id for r in rows]))
                             .values(first_proposed_at=at))
        return [(at - r.submitted_at).total_seconds() for r in rows
                if r.submitted_at is not None]

    def pending_count(self, cluster_id: str) -> int:
        return self.session.scalar(select(func.count()).select_from(StepRow).where(
            StepRow.cluster_id == cluster_id, StepRow.status == PENDING)) or 0

    def pending_queue(self, cluster_id: str) -> list[QueuedOrder]:
        # one row per waiting order, whatever the backlog: a run then loads only its batch
        waiting = select(STEPS.c.order_id).where(STEPS.c.cluster_id == cluster_id,
                                                 STEPS.c.status == PENDING)
        rows = self.session.execute(
            select(ORDERS.c.id, ORDERS.c.priority, ORDERS.c.due, ORDERS.c.submitted_at,
                   func.count())
            .join(STEPS, STEPS.c.order_id == ORDERS.c.id)
            .where(ORDERS.c.id.in_(waiting), STEPS.c.status.in_(OPEN))
            .group_by(ORDERS.c.id, ORDERS.c.priority, ORDERS.c.due, ORDERS.c.submitted_at))
        return [QueuedOrder(order_id=r[0], priority=r[1], due=r[2], submitted_at=r[3],
                            open_steps=r[4]) for r in rows]

    def clusters_with_pending(self) -> list[str]:
        query = (select(StepRow.cluster_id).distinct()
                 .join(ClusterRow, ClusterRow.id == StepRow.cluster_id)
                 .where(StepRow.status == PENDING).order_by(StepRow.cluster_id))
        return list(self.session.scalars(query))

    def snapshot(self, cluster_id: str, *, now: datetime,
                 order_ids: Sequence[str]) -> ClusterSnapshot:
        s = self.session
        # Core rows, not ORM objects: a run reads every window of the cluster
        orders = s.execute(select(ORDERS).where(ORDERS.c.id.in_(order_ids))
                           .order_by(ORDERS.c.id)).all()
        steps = self.steps_of_orders(order_ids)
        held_on = {st.window_id for st in steps if st.window_id is not None}
        windows = s.execute(select(WINDOWS).where(
            WINDOWS.c.cluster_id == cluster_id,
            or_(WINDOWS.c.end_at > now, WINDOWS.c.id.in_(held_on))).order_by(WINDOWS.c.id)).all()
        used = dict(s.execute(
            select(StepRow.window_id, func.sum(StepRow.hours))
            .where(StepRow.window_id.in_([w.id for w in windows]), StepRow.status.in_(PLACED))
            .group_by(StepRow.window_id)).all())
        factories = s.execute(select(FactoryRow.__table__).where(
            FactoryRow.cluster_id == cluster_id).order_by(FactoryRow.id)).all()
        machines = s.execute(select(MachineRow.__table__).where(
            MachineRow.cluster_id == cluster_id).order_by(MachineRow.id)).all()
        return ClusterSnapshot(
            cluster_id=cluster_id,
            factories=[_factory(f) for f in factories],
            machines=[_machine(m) for m in machines],
            windows=[_window(w, used_hours=float(used.get(w.id) or 0.0)) for w in windows],
            orders=[_order(o) for o in orders],
            steps=steps,
        )


def _factory(row: Any) -> FactoryRecord:
    return FactoryRecord(
        id=row.id, firm_id=row.firm_id, cluster_id=row.cluster_id, name=row.name, lat=row.lat,
        lon=row.lon, declared_tier=row.declared_tier, verified_tier=row.verified_tier,
        sme=row.sme, certifications=tuple(row.certifications))


def _machine(row: Any) -> MachineRecord:
    return MachineRecord(
        id=row.id, factory_id=row.factory_id, cluster_id=row.cluster_id, name=row.name,
        process=row.process, materials=tuple(row.materials), hourly_rate=row.hourly_rate)


def _window(row: Any, *, used_hours: float = 0.0) -> WindowRecord:
    return WindowRecord(
        id=row.id, machine_id=row.machine_id, factory_id=row.factory_id,
        cluster_id=row.cluster_id, start=row.start_at, end=row.end_at,
        hours=row.hours, used_hours=used_hours)


def _order(row: Any) -> OrderRecord:
    return OrderRecord(
        id=row.id, buyer_firm_id=row.buyer_firm_id, cluster_id=row.cluster_id, title=row.title,
        delivery_lat=row.delivery_lat, delivery_lon=row.delivery_lon, due=row.due,
        min_tier=row.min_tier, certifications=tuple(row.certifications),
        max_distance_km=row.max_distance_km, priority=row.priority, budget=row.budget,
        allowed_factories=tuple(row.allowed_factories),
        blocked_factories=tuple(row.blocked_factories), max_factories=row.max_factories,
        submitted_at=row.submitted_at)


def _step(row: Any) -> StepState:
    return StepState(
        id=row.id, order_id=row.order_id, cluster_id=row.cluster_id, key=row.step_key,
        position=row.position, process=row.process, material=row.material,
        quantity=row.quantity, hours=row.hours, after=list(row.after_ids), status=row.status,
        window_id=row.window_id, price=row.price, transport_km=row.transport_km,
        reason=row.reason, detail=row.detail, excluded_windows=list(row.excluded_windows),
        match_run_id=row.match_run_id, started_at=row.started_at,
        completed_at=row.completed_at)


class SqlConsumerOffsets:
    """The last offset applied per (topic, partition), written with the event's effect."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, *, topic: str, partition: int, offset: int) -> None:
        self.session.execute(upsert(ConsumerOffsetRow.__table__,  # type: ignore[arg-type]
                                    self.session.get_bind().dialect.name), {
            "topic": topic, "partition": partition, "offset": offset,
            "updated_at": datetime.now(UTC)})

    def load(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        wanted = set(partitions)
        rows = self.session.scalars(select(ConsumerOffsetRow).where(
            ConsumerOffsetRow.topic.in_({t for t, _ in wanted})))
        return {(r.topic, r.partition): r.offset for r in rows
                if (r.topic, r.partition) in wanted}

    def check_topic_ids(self, current: Mapping[str, str]) -> set[str]:
        """Store the topics' ids; forget the offsets of each topic whose id changed."""
        stored = {r.topic: r for r in self.session.scalars(
            select(ConsumerTopicRow).where(ConsumerTopicRow.topic.in_(set(current))))}
        recreated = {t for t, tid in current.items() if t in stored and stored[t].topic_id != tid}
        if recreated:
            self.session.execute(delete(ConsumerOffsetRow).where(
                ConsumerOffsetRow.topic.in_(recreated)))
        now = datetime.now(UTC)
        for topic, tid in current.items():
            self.session.merge(ConsumerTopicRow(topic=topic, topic_id=tid, updated_at=now))
        return recreated


class SqlMatchRuns:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._known: set[str] = set()

    def exists(self, run_id: str) -> bool:
        return run_id in self.stored((run_id,))

    def stored(self, run_ids: Collection[str]) -> set[str]:
        # known ids are remembered: a run's events come in hundreds; runs are never deleted
        unknown = [r for r in run_ids if r not in self._known]
        if unknown:
            # the ids alone, for every event the matcher reads back
            self._known.update(self.session.scalars(
                select(MatchRunRow.id).where(MatchRunRow.id.in_(unknown))))
        return {r for r in run_ids if r in self._known}

    def add(self, run: MatchRun, *, plan: Plan, snapshot: dict[str, Any]) -> None:
        self.session.add(MatchRunRow(
            id=run.id, cluster_id=run.cluster_id, trigger=run.trigger, status=run.status,
            placed_steps=run.placed_steps, unplaced_steps=run.unplaced_steps,
            objective=run.objective, wall_s=run.wall_s, started_at=run.started_at,
            finished_at=run.finished_at, parameters=run.parameters, snapshot=snapshot,
            bound=run.bound, gap=run.gap, seed=run.seed))
        self.session.flush()
        self.session.add_all([ProposalRow(
            match_run_id=run.id, step_id=a.step_id, order_id=a.order_id, window_id=a.window_id,
            machine_id=a.machine_id, factory_id=a.factory_id, hours=a.hours, price=a.price,
            transport_km=a.transport_km) for a in plan.allocations])
        self.session.add_all([RunUnplacedRow(
            match_run_id=run.id, step_id=u.step_id, order_id=u.order_id, reason=u.reason,
            detail=u.detail) for u in plan.unplaced])

    def snapshot(self, run_id: str) -> dict[str, Any] | None:
        row = self.session.get(MatchRunRow, run_id)
        return dict(row.snapshot) if row is not None and row.snapshot is not None else None

    def prune_snapshots(self, *, started_before: datetime, limit: int) -> int:
        oldest = (select(MatchRunRow.id)
                  .where(MatchRunRow.started_at < started_before,
                         MatchRunRow.snapshot.is_not(None))
                  .order_by(MatchRunRow.started_at).limit(limit))
        return self.session.execute(
            update(MatchRunRow).where(MatchRunRow.id.in_(oldest)).values(snapshot=None)
            .execution_options(synchronize_session=False)).rowcount

    def get(self, run_id: str) -> tuple[MatchRun, list[Allocation], list[Unplaced]] | None:
        row = self.session.get(MatchRunRow, run_id)
        if row is None:
            return None
        proposals = self.session.scalars(select(ProposalRow).where(
            ProposalRow.match_run_id == run_id).order_by(ProposalRow.id))
        unplaced = self.session.scalars(select(RunUnplacedRow).where(
            RunUnplacedRow.match_run_id == run_id).order_by(RunUnplacedRow.id))
        return (_run(row),
                [Allocation(step_id=p.step_id, order_id=p.order_id, window_id=p.window_id,
                            machine_id=p.machine_id, factory_id=p.factory_id, hours=p.hours,
                            price=p.price, transport_km=p.transport_km) for p in proposals],
                [Unplaced(step_id=u.step_id, order_id=u.order_id, reason=u.reason,
                          detail=u.detail) for u in unplaced])

    def list(self, *, cluster_id: str | None, after: tuple[datetime, str] | None,
             limit: int) -> list[MatchRun]:
        query = select(MatchRunRow).order_by(MatchRunRow.started_at.desc(),
                                             MatchRunRow.id.desc()).limit(limit)
        if cluster_id is not None:
            query = query.where(MatchRunRow.cluster_id == cluster_id)
        if after is not None:
            started, run_id = after[0], after[1]
            query = query.where(or_(MatchRunRow.started_at < started, and_(
                MatchRunRow.started_at == started, MatchRunRow.id < run_id)))
        return [_run(r) for r in self.session.scalars(query)]


def _run(row: MatchRunRow) -> MatchRun:
    return MatchRun(
        id=row.id, cluster_id=row.cluster_id, trigger=row.trigger, status=row.status,
        placed_steps=row.placed_steps, unplaced_steps=row.unplaced_steps,
        objective=row.objective, wall_s=row.wall_s, started_at=row.started_at,
        finished_at=row.finished_at, parameters=dict(row.parameters or {}),
        bound=row.bound, gap=row.gap, seed=row.seed)


def _step_state(s: StepState, at: datetime) -> dict[str, Any]:
    """The columns a step's life changes."""
    return {"status": s.status, "window_id": s.window_id, "price": s.price,
            "transport_km": s.transport_km, "reason": s.reason, "detail": s.detail,
            "excluded_windows": list(s.excluded_windows), "match_run_id": s.match_run_id,
            "started_at": s.started_at, "completed_at": s.completed_at, "updated_at": at}


def _step_values(s: StepState, at: datetime) -> dict[str, Any]:
    return {"id": s.id, "order_id": s.order_id, "cluster_id": s.cluster_id,
            "step_key": s.key, "position": s.position, "process": s.process,
            "material": s.material, "quantity": s.quantity, "hours": s.hours,
            "after_ids": list(s.after), **_step_state(s, at)}
