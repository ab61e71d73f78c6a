"""The service-layer tests' kit: the walk-through fed into a fake unit of work, and a match
run at a fixed clock (an hour before T0)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.matcher.domain.model import Parameters
from services.matcher.domain.runs import MANUAL, MatchRun
from services.matcher.service_layer import planning
from services.matcher.service_layer.handlers import handle_event
from shared.events import EventPayload
from tests.matcher import events as e
from tests.matcher.unit.builders import T0
from tests.matcher.unit.fakes import FakeUnitOfWork

NOW = T0 - timedelta(hours=1)
OPTIONS = planning.PlanningOptions(params=Parameters(), max_steps=500)


def feed(uow: FakeUnitOfWork, *payloads: EventPayload) -> None:
    for p in payloads:
        handle_event(*e.envelope(p), uow=uow)


def plan(uow: FakeUnitOfWork, cluster: str = e.CLUSTER) -> MatchRun:
    return planning.plan_cluster(cluster, uow=uow, options=OPTIONS, trigger=MANUAL, now=NOW)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    u = FakeUnitOfWork()
    feed(u, *e.walkthrough(T0))
    return u
