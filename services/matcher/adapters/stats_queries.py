"""The rows operator statistics are computed from, read from the matcher's own tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, distinct, func, select
from sqlalchemy.orm import Session

from services.matcher.adapters.orm import (
    IN_PRODUCTION,
    UNPLACED_STEP,
    FactoryRow,
    MatchRunRow,
    OrderRow,
    ProposalRow,
    RunUnplacedRow,
    StepRow,
    WindowRow,
)
from services.matcher.domain.readmodel import ACCEPTED, PLACED
from services.matcher.domain.stats import AtRisk, Completed, InProduction, Outcome, RunSummary


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
        unplaced = _in_cluster(select(StepRow.order_id).where(UNPLACED_STEP), StepRow,
                               cluster_id)
        open_work = StepRow.completed_at.is_(None)
        query = select(
            func.count(distinct(StepRow.order_id)),
            func.coalesce(func.sum(case((open_work, 1), else_=0)), 0),
            func.coalesce(func.sum(case((open_work, StepRow.hours), else_=0.0)), 0.0),
        ).where(StepRow.status == ACCEPTED, StepRow.order_id.in_(unplaced))
        orders, steps, hours = self.session.execute(query).one()
        return AtRisk(orders=int(orders), steps=int(steps), hours=float(hours))

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


def _in_cluster(query: Select[Any], table: Any, cluster_id: str | None) -> Select[Any]:
    return query if cluster_id is None else query.where(table.cluster_id == cluster_id)
