"""The matcher's settings (environment variables prefixed ``MATCHER_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.matcher.domain.model import Parameters
from services.matcher.solver.solve import SolverOptions
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHER_", extra="ignore",
                                      populate_by_name=True)

    service_name: str = "matcher"
    database_url: str = "sqlite:///var/matcher.db"

    batch_interval_s: float = 2.0  # period of the planning loop
    # the loop plans a cluster at once when this many steps wait, and a run solves only until
    # this many more will be waiting (runs keep pace with arrivals; a large value turns it off)
    batch_max_steps: int = Field(50, ge=1)
    run_max_steps: int = Field(1000, ge=1)  # open steps planned in one run of one cluster
    speed_kmh: float = 50.0  # for transit time between factories
    transport_cost_per_km: float = 2.0
    sme_bonus_per_hour: float = 0.0
    unplaced_penalty: float = 100000.0
    planner_enabled: bool = True  # the background loop; tests turn it off and plan on demand
    solver: Literal["cpsat", "greedy"] = "cpsat"  # the optimiser, or the plain greedy
    solver_time_limit_s: float = Field(2.0, gt=0)  # per match run
    solver_threads: int = Field(2, ge=1)
    solver_seed: int = 0
    solver_deterministic: bool = False  # deterministic time budget: replays are identical
    solver_gap_limit: float = Field(0.001, ge=0, lt=1)  # stop a search this close to its bound
    # a run's input (its snapshot, for replays) is deleted after this many days; 0 keeps it
    snapshot_retention_days: float = Field(30.0, ge=0)

    def parameters(self) -> Parameters:
        return Parameters(speed_kmh=self.speed_kmh,
                          transport_cost_per_km=self.transport_cost_per_km,
                          sme_bonus_per_hour=self.sme_bonus_per_hour,
                          unplaced_penalty=self.unplaced_penalty)

    def solver_options(self) -> SolverOptions:
        return SolverOptions(time_limit_s=self.solver_time_limit_s, threads=self.solver_threads,
                             seed=self.solver_seed, deterministic=self.solver_deterministic,
                             gap_limit=self.solver_gap_limit,
                             greedy_baseline=False)  # a comparison, not needed to plan
