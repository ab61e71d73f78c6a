"""The rows operator statistics are computed from, read from the matcher's own tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, distinct, func, or_, select
from sqlalchemy.orm import Session

from services.matcher.adapters.orm import (
    IN_PRODUCTION,
    UNPLACED_STEP,
    ClusterRow,
    FactoryRow,
    MatchRunRow,
    OrderRow,
    ProposalRow,
    RunUnplacedRow,
    StepRow,
    WindowRow,
)
from services.matcher.domain.readmodel import ACCEPTED, PLACED, UNPLACED
from services.matcher.domain.stats import (
    AtRisk,
    Completed,
    InProduction,
    OrderAtRisk,
    Outcome,
    RunSummary,
    UnplacedStep,
)


class SqlStats:
    def __init__(self, session: Session) -> None:
        self.session = session

    def submitted_times(self, *, cluster_id: str | None, since: datetime,
                        until: datetime) -> list[datetime]:
        query = select(OrderRow.submitted_at).where(
            OrderRow.submitted_at >= since, OrderRow.submitted_at <= until)
        return list(self.session.scalars(_in_cluster(query, OrderRow, cluster_id)))

    def first_proposals(self, *, cluster_id: str | None, since: datetime,
                        until: datetime) -> list[tuple[datetime, float]]:
        """(first proposal time, seconds since submission) of orders first proposed then."""
        query = select(OrderRow.first_proposed_at, OrderRow.submitted_at).where(
            OrderRow.first_proposed_at >= since, OrderRow.first_proposed_at <= until,
            OrderRow.submitted_at.is_not(None))
        rows = self.session.execute(_in_cluster(query, OrderRow, cluster_id)).all()
        return [(p, (p - s).total_seconds()) for p, s in rows]

    def outcomes(self, *, cluster_id: str | None, since: datetime,
                 until: datetime) -> list[Outcome]:
        """What each run started in the window decided for each step it planned."""
        in_window = (MatchRunRow.started_at >= since, MatchRunRow.started_at <= until)
        placed = (select(ProposalRow.step_id, MatchRunRow.id, MatchRunRow.started_at,
                         ProposalRow.hours, FactoryRow.sme, ProposalRow.transport_km)
                  .join(MatchRunRow, MatchRunRow.id == ProposalRow.match_run_id)
                  .outerjoin(FactoryRow, FactoryRow.id == ProposalRow.factory_id)
                  .where(*in_window))
        unplaced = (select(RunUnplacedRow.step_id, MatchRunRow.id, MatchRunRow.started_at,
                           RunUnplacedRow.reason)
                    .join(MatchRunRow, MatchRunRow.id == RunUnplacedRow.match_run_id)
                    .where(*in_window))
        out = [Outcome(step_id=s, run_id=r, run_started_at=at, placed=True, hours=h,
                       sme=bool(sme), transport_km=km)
               for s, r, at, h, sme, km in self.session.execute(
                   _in_cluster(placed, MatchRunRow, cluster_id))]
        out += [Outcome(step_id=s, run_id=r, run_started_at=at, placed=False, reason=reason)
                for s, r, at, reason in self.session.execute(
                    _in_cluster(unplaced, MatchRunRow, cluster_id))]
        return out

    def hours(self, *, cluster_id: str | None, since: datetime) -> tuple[float, float]:
        """(offered, placed) hours of the windows not ended before ``since``: placed are
        the hours of steps proposed, held or accepted on them."""
        offered = _in_cluster(select(func.coalesce(func.sum(WindowRow.hours), 0.0))
                              .where(WindowRow.end_at >= since), WindowRow, cluster_id)
        placed = _in_cluster(
            select(func.coalesce(func.sum(StepRow.hours), 0.0))
            .join(WindowRow, WindowRow.id == StepRow.window_id)
            .where(WindowRow.end_at >= since, StepRow.status.in_(PLACED)),
            WindowRow, cluster_id)
        return float(self.session.scalar(offered) or 0.0), float(
            self.session.scalar(placed) or 0.0)

    def completed(self, *, cluster_id: str | None, since: datetime,
                  until: datetime) -> Completed:
        """Steps completed in the window, their hours, and the orders whose every step is
        completed, the last one in the window."""
        in_window = (StepRow.completed_at >= since, StepRow.completed_at <= until)
        steps = _in_cluster(
            select(func.count(), func.coalesce(func.sum(StepRow.hours), 0.0)).where(*in_window),
            StepRow, cluster_id)
        touched = _in_cluster(select(StepRow.order_id).where(*in_window), StepRow, cluster_id)
        done = (select(StepRow.order_id).where(StepRow.order_id.in_(touched))
                .group_by(StepRow.order_id)
                .having(func.count(StepRow.completed_at) == func.count(),
                        func.max(StepRow.completed_at) <= until)
                .subquery())
        count, hours = self.session.execute(steps).one()
        orders = self.session.scalar(select(func.count()).select_from(done))
        return Completed(steps=int(count), hours=float(hours), orders=int(orders or 0))

    def in_production(self, *, cluster_id: str | None, until: datetime) -> InProduction:
        """Accepted steps whose work started by ``until`` and is not completed, and their
        hours (a started step of a cancelled order is not)."""
        query = _in_cluster(
            select(func.count(), func.coalesce(func.sum(StepRow.hours), 0.0)).where(
                IN_PRODUCTION, StepRow.started_at <= until, StepRow.status == ACCEPTED),
            StepRow, cluster_id)
        count, hours = self.session.execute(query).one()
        return InProduction(steps=int(count), hours=float(hours))

    def at_risk(self, *, cluster_id: str | None) -> AtRisk:
        """Now: orders with an accepted step and an unplaced one, and their accepted steps not
        completed, with those steps' hours (a cancelled order's steps are neither)."""
        query = select(*_AT_RISK_TOTALS).where(*_accepted_at_risk(cluster_id))
        return _at_risk(*self.session.execute(query).one())

    def at_risk_by_cluster(self) -> dict[str, AtRisk]:
        """``at_risk`` of every cluster the matcher knows (none at risk: zero): one query for
        the totals by cluster, one for the clusters."""
        query = (select(StepRow.cluster_id, *_AT_RISK_TOTALS)
                 .where(*_accepted_at_risk(None)).group_by(StepRow.cluster_id))
        found = {cluster: _at_risk(*totals)
                 for cluster, *totals in self.session.execute(query)}
        return {cluster: found.get(cluster, AtRisk())
                for cluster in self.session.scalars(select(ClusterRow.id).order_by(ClusterRow.id))}

    def orders_at_risk(self, *, cluster_id: str | None, after: tuple[datetime, str] | None,
                       limit: int) -> list[OrderAtRisk]:
        """The orders of ``at_risk``, soonest due first (then by id), after the (due, id)
        ``after``; each with its steps' counts and the unplaced ones."""
        query = (select(OrderRow)
                 .where(OrderRow.id.in_(select(StepRow.order_id)
                                        .where(*_accepted_at_risk(cluster_id))))
                 .order_by(OrderRow.due, OrderRow.id).limit(limit))
        if after is not None:
            due, order_id = after
            query = query.where(or_(OrderRow.due > due,
                                    and_(OrderRow.due == due, OrderRow.id > order_id)))
        orders = list(self.session.scalars(query))
        steps: dict[str, list[StepRow]] = {}
        for step in self.session.scalars(
                select(StepRow).where(StepRow.order_id.in_([o.id for o in orders]))
                .order_by(StepRow.order_id, StepRow.position)):
            steps.setdefault(step.order_id, []).append(step)
        return [_order_at_risk(o, steps.get(o.id, [])) for o in orders]

    def runs(self, *, cluster_id: str | None, since: datetime, until: datetime,
             limit: int | None = None) -> list[RunSummary]:
        """Runs started in the window, newest first."""
        query = _in_cluster(
            select(MatchRunRow.id, MatchRunRow.cluster_id, MatchRunRow.trigger,
                   MatchRunRow.status, MatchRunRow.placed_steps, MatchRunRow.unplaced_steps,
                   MatchRunRow.wall_s, MatchRunRow.gap, MatchRunRow.started_at)
            .where(MatchRunRow.started_at >= since, MatchRunRow.started_at <= until)
            .order_by(MatchRunRow.started_at.desc(), MatchRunRow.id.desc()),
            MatchRunRow, cluster_id)
        if limit is not None:
            query = query.limit(limit)
        return [RunSummary(*row) for row in self.session.execute(query)]

    def run_count(self, *, cluster_id: str | None, since: datetime, until: datetime) -> int:
        query = _in_cluster(
            select(func.count()).select_from(MatchRunRow)
            .where(MatchRunRow.started_at >= since, MatchRunRow.started_at <= until),
            MatchRunRow, cluster_id)
        return int(self.session.scalar(query) or 0)


_OPEN_WORK = StepRow.completed_at.is_(None)
# over the accepted steps of orders at risk: the orders, the steps not done, their hours
_AT_RISK_TOTALS = (
    func.count(distinct(StepRow.order_id)),
    func.coalesce(func.sum(case((_OPEN_WORK, 1), else_=0)), 0),
    func.coalesce(func.sum(case((_OPEN_WORK, StepRow.hours), else_=0.0)), 0.0),
)


def _at_risk(orders: Any, steps: Any, hours: Any) -> AtRisk:
    return AtRisk(orders=int(orders), steps=int(steps), hours=float(hours))


def _accepted_at_risk(cluster_id: str | None) -> tuple[Any, ...]:
    """The conditions of an accepted step whose order has an unplaced step (in the cluster)."""
    unplaced = _in_cluster(select(StepRow.order_id).where(UNPLACED_STEP), StepRow, cluster_id)
    return StepRow.status == ACCEPTED, StepRow.order_id.in_(unplaced)


def _order_at_risk(order: OrderRow, steps: list[StepRow]) -> OrderAtRisk:
    accepted_open = [s for s in steps if s.status == ACCEPTED and s.completed_at is None]
    return OrderAtRisk(
        order_id=order.id, cluster_id=order.cluster_id, buyer_firm_id=order.buyer_firm_id,
        title=order.title, due=order.due, steps=len(steps),
        steps_completed=sum(1 for s in steps if s.completed_at is not None),
        steps_at_risk=len(accepted_open), at_risk_hours=sum(s.hours for s in accepted_open),
        unplaced=tuple(UnplacedStep(step_id=s.id, key=s.step_key, reason=s.reason,
                                    detail=s.detail) for s in steps if s.status == UNPLACED))


def _in_cluster(query: Select[Any], table: Any, cluster_id: str | None) -> Select[Any]:
    return query if cluster_id is None else query.where(table.cluster_id == cluster_id)
