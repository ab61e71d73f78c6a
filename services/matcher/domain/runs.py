"""A match run: one planning pass over one cluster, stored with its input for replay."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

INTERVAL = "interval"
MANUAL = "manual"
BATCH_FULL = "batch_full"  # MATCHER_BATCH_MAX_STEPS pending steps woke the loop early


@dataclass(frozen=True)
class MatchRun:
    id: str
    cluster_id: str
    trigger: str  # interval | batch_full | manual
    status: str  # the solver status: optimal | feasible | infeasible | unknown
    placed_steps: int
    unplaced_steps: int
    objective: float | None
    wall_s: float
    started_at: datetime
    finished_at: datetime
    parameters: dict[str, Any] = field(default_factory=dict)
    bound: float | None = None  # the solver's lower bound on the objective
    gap: float | None = None  # (objective − bound) / max(1, |objective|)
    seed: int | None = None  # the solver's random seed (for replay)
