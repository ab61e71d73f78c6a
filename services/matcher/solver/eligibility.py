"""The eligibility funnel of DESIGN §4: which windows a step may take, and if none, why.

Every window of the cluster is a candidate; each stage removes the candidates that fail its
test. The first stage that leaves none gives the step's reason code. The static stages
(process … due date) depend only on the data; the last three depend on the plan being built
(``PlanState``): precedence with the order's placed and pinned steps, free hours left, and the
order's ``max_factories``. The greedy and the explanation API use the same funnel, and so will
the optimiser (it needs the static part only).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from services.matcher.domain import reasons
from services.matcher.domain.costs import delivery_km, precedence_ok, transit_hours
from services.matcher.domain.model import EPS, Candidate, Instance, Order, Step
from shared.vocabulary import tier_rank


@dataclass
class PlanState:
    """A plan under construction: free hours left per window, and each placed step's window
    (pinned steps included)."""

    free: dict[str, float]
    placement: dict[str, str] = field(default_factory=dict)

    @classmethod
    def initial(cls, instance: Instance) -> PlanState:
        pinned = {s.id: s.pinned_window for o in instance.orders for s in o.steps
                  if s.pinned_window is not None}
        return cls(free={w.id: w.hours for w in instance.windows}, placement=pinned)

    def place(self, step: Step, window_id: str) -> None:
        self.free[window_id] -= step.hours
        self.placement[step.id] = window_id

    def undo(self, step: Step) -> None:
        window_id = self.placement.pop(step.id)
        self.free[window_id] += step.hours


@dataclass(frozen=True)
class StageCount:
    stage: str
    candidates: int


@dataclass(frozen=True, slots=True)
class Miss:
    """Why one candidate failed a stage. ``short``: how far it fell short, in the stage's unit
    (km, hours, tier ranks, certificates; smaller is nearer). ``told``: what a buyer reads
    instead of ``why`` where ``why`` would locate one supplier (a factory's distance to the
    nearest 0.1 km, from delivery points of the buyer's choosing, places it on a map)."""

    why: str
    short: float = 0.0
    told: str | None = None
    terms: tuple[str, ...] = ()  # the order terms that stand in the way, if any


@dataclass(frozen=True)
class Funnel:
    step_id: str
    stages: tuple[StageCount, ...]
    eligible: tuple[str, ...]  # window ids that pass every stage
    reason: str | None = None  # None when ``eligible`` is not empty
    detail: str = ""
    miss: tuple[str, Miss] | None = None  # (stage, why) of the candidate that came closest

    @property
    def nearest_miss(self) -> str | None:
        """For the operator: the exact figures."""
        return f"{self.miss[0]}: {self.miss[1].why}" if self.miss else None

    @property
    def revisable_terms(self) -> tuple[str, ...]:
        """When no candidate is left: the order terms that stopped the nearest one, which the
        buyer could change (empty when capacity, a machine or a material is missing)."""
        return self.miss[1].terms if self.miss and self.reason else ()

    @property
    def nearest_miss_told(self) -> str | None:
        """For the buyer: no figure that places one supplier more precisely than 5 km or a
        day."""
        if self.miss is None:
            return None
        stage, miss = self.miss
        return f"{stage}: {miss.told or miss.why}"


@dataclass(frozen=True)
class _Ctx:
    instance: Instance
    order: Order
    step: Step
    state: PlanState

    def neighbours(self) -> list[tuple[Candidate, Step, bool]]:
        """(where it sits, the step, True if it must finish before ours) for placed siblings."""
        out = []
        cands = self.instance.candidates
        for other in self.order.steps:
            wid = self.state.placement.get(other.id)
            if other.id == self.step.id or wid is None or wid not in cands:
                continue
            if other.id in self.step.after:
                out.append((cands[wid], other, True))
            elif self.step.id in other.after:
                out.append((cands[wid], other, False))
        return out

    def factories_in_use(self) -> set[str]:
        cands = self.instance.candidates
        return {cands[w].factory.id for s in self.order.steps
                if s.id != self.step.id and (w := self.state.placement.get(s.id)) in cands}


Check = Callable[[_Ctx, Candidate], Miss | None]  # None = passes, else why not

TOLD_KM = 5.0  # a buyer reads a factory's distance rounded up to this


def _material(x: _Ctx, c: Candidate) -> Miss | None:
    m = x.step.material
    return None if m is None or m in c.machine.materials else Miss(f"machine does not take {m}")


def _tier(x: _Ctx, c: Candidate) -> Miss | None:
    short = tier_rank(x.order.min_tier) - tier_rank(c.factory.tier)
    if short <= 0:
        return None
    return Miss(f"factory tier {c.factory.tier} is below {x.order.min_tier}", short,
                terms=("min_tier",))


def _certifications(x: _Ctx, c: Candidate) -> Miss | None:
    missing = x.order.certifications - c.factory.certifications
    if not missing:
        return None
    return Miss(f"factory lacks {', '.join(sorted(missing))}", len(missing),
                terms=("certifications",))


def _distance(x: _Ctx, c: Candidate) -> Miss | None:
    km, limit = delivery_km(c, x.order), x.order.max_distance_km
    if km <= limit + EPS:
        return None
    within = math.ceil(km / TOLD_KM) * TOLD_KM
    return Miss(f"factory is {km:.1f} km from delivery (limit {limit:g} km)", km - limit,
                told=f"a factory within {within:g} km of delivery (limit {limit:g} km)",
                terms=("max_distance_km", "delivery"))


def _buyer(x: _Ctx, c: Candidate) -> Miss | None:
    if c.factory.id in x.order.blocked_factories:
        return Miss("the buyer blocked this factory", terms=("blocked_factories",))
    if x.order.allowed_factories and c.factory.id not in x.order.allowed_factories:
        return Miss("factory is not on the buyer's allowed list", terms=("allowed_factories",))
    return None


def _window(x: _Ctx, c: Candidate) -> Miss | None:
    w, s = c.window, x.step
    if w.offered + EPS < s.hours:
        return Miss(f"window offers {w.offered:g} h, the step needs {s.hours:g} h",
                    s.hours - w.offered)
    if w.end > x.order.due:
        late_h = (w.end - x.order.due).total_seconds() / 3600
        return Miss(f"window ends {w.end:%Y-%m-%d %H:%M} UTC, after the due date", late_h,
                    told=f"a window ending on {w.end:%Y-%m-%d}, after the due date",
                    terms=("due",))
    if x.instance.now is not None and w.end <= x.instance.now:
        return Miss("window has already ended")
    return None


def _precedence(x: _Ctx, c: Candidate) -> Miss | None:
    params = x.instance.params
    for other_c, other, first in x.neighbours():
        if first and not precedence_ok(before=other_c, after=c, after_hours=x.step.hours,
                                       params=params):
            transit = transit_hours(other_c, c, params)
            return Miss(f"too early after a preceding step (transit {transit:.1f} h)",
                        told="too early after a preceding step, with transit")
        if not first and not precedence_ok(before=c, after=other_c, after_hours=other.hours,
                                           params=params):
            return Miss("ends too late for a following step already placed")
    return None


def _capacity(x: _Ctx, c: Candidate) -> Miss | None:
    if c.window.id in x.step.excluded_windows:
        return Miss("window was rejected or declined for this step", math.inf)
    free = x.state.free.get(c.window.id, c.window.hours)
    if free + EPS < x.step.hours:
        return Miss(f"only {max(free, 0.0):g} of {c.window.offered:g} h left",
                    x.step.hours - free)
    return None


def _factories(x: _Ctx, c: Candidate) -> Miss | None:
    limit = x.order.max_factories
    if limit is None:
        return None
    used = x.factories_in_use()
    if c.factory.id in used or len(used) < limit:
        return None
    return Miss(f"the order already uses {len(used)} factories (max {limit})",
                terms=("max_factories",))


# (stage, reason when it empties the candidate set, test); "process" is applied by index.
_STAGES: tuple[tuple[str, str, Check], ...] = (
    ("material", reasons.MATERIAL_UNSUPPORTED, _material),
    ("tier", reasons.TIER_BELOW_MINIMUM, _tier),
    ("certifications", reasons.CERTIFICATION_MISSING, _certifications),
    ("distance", reasons.OUTSIDE_DISTANCE, _distance),
    ("buyer_rules", reasons.BLOCKED_BY_BUYER, _buyer),
    ("due_date", reasons.NO_WINDOW_BEFORE_DUE, _window),
    ("precedence", reasons.NO_WINDOW_BEFORE_DUE, _precedence),
    ("free_capacity", reasons.CAPACITY_TAKEN, _capacity),
    ("max_factories", reasons.TOO_MANY_FACTORIES, _factories),
)
STATIC_STAGES = ("windows", "process", "material", "tier", "certifications", "distance",
                 "buyer_rules", "due_date")


def static_violations(instance: Instance, order: Order, step: Step, window_id: str) -> list[str]:
    """Why ``window_id`` can never take ``step``, whatever else is placed (empty = it can):
    the static stages plus the windows excluded for the step."""
    c = instance.candidates.get(window_id)
    if c is None:
        return [f"window {window_id} is unknown"]
    x = _Ctx(instance, order, step, PlanState(free={}))
    out = [] if c.machine.process == step.process else [
        f"process: machine does {c.machine.process}, not {step.process}"]
    out += [f"{stage}: {miss.why}" for stage, _, check in _STAGES
            if stage in STATIC_STAGES and (miss := check(x, c)) is not None]
    if window_id in step.excluded_windows:
        out.append("window was rejected or declined for this step")
    return out


def funnel(instance: Instance, order: Order, step: Step, state: PlanState | None = None
           ) -> Funnel:
    """Run ``step`` of ``order`` through every stage against ``state`` (default: nothing
    placed yet but the pinned steps)."""
    x = _Ctx(instance, order, step, state or PlanState.initial(instance))
    all_cands = list(instance.candidates.values())
    survivors = [c for c in all_cands if c.machine.process == step.process]
    counts = [StageCount("windows", len(all_cands)), StageCount("process", len(survivors))]
    if not survivors:
        return Funnel(step.id, tuple(counts), (), reasons.NO_CAPABLE_MACHINE,
                      stage_detail("process", order, step, len(all_cands)),
                      ("process", Miss(f"no {step.process} machine")))
    # The nearest miss: among the candidates that got furthest, one the buyer's own lists allow
    # if any (what stopped a factory the buyer would not take anyway matters less to it), and
    # of those the one that fell least short. Ranked by (stage, allowed, -short).
    listed = bool(order.allowed_factories or order.blocked_factories)
    miss: tuple[tuple[int, bool, float], str, Miss] | None = None
    for i, (stage, reason, check) in enumerate(_STAGES):
        kept = []
        for c in survivors:
            why = check(x, c)
            if why is None:
                kept.append(c)
                continue
            rank = (i, not listed or _buyer(x, c) is None, -why.short)
            if miss is None or rank > miss[0]:
                miss = (rank, stage, why)
        counts.append(StageCount(stage, len(kept)))
        if not kept:
            excluded = sum(1 for c in survivors if c.window.id in step.excluded_windows)
            return Funnel(step.id, tuple(counts), (), reason,
                          stage_detail(stage, order, step, len(survivors), excluded),
                          (miss[1], miss[2]) if miss else None)
        survivors = kept
    return Funnel(step.id, tuple(counts), tuple(c.window.id for c in survivors))


def stage_detail(stage: str, order: Order, step: Step, n: int, excluded: int = 0) -> str:
    """Why the ``n`` candidates that reached ``stage`` all failed it, in one sentence
    (``excluded``: how many of them were rejected or declined for the step; for "process",
    ``n`` is the number of windows in the cluster)."""
    s, o = step, order
    lead = f"{n} candidate window(s) left"
    if stage == "process":
        return (f"no open window in the cluster is on a {s.process} machine"
                f" ({n} windows in all)")
    if stage == "free_capacity":
        return (f"{n} eligible window(s), all taken: {n - excluded} without {s.hours:g} free h "
                f"(used by other steps), {excluded} rejected or declined for this step")
    texts = {
        "material": f"{lead}, but no machine takes {s.material}",
        "tier": f"{lead}, but all at factories below tier {o.min_tier}",
        "certifications": f"{lead}, but no factory holds {', '.join(sorted(o.certifications))}",
        "distance": f"{lead}, but all farther than {o.max_distance_km:g} km from delivery",
        "buyer_rules": f"{lead}, but all at factories the buyer blocked or did not allow",
        "due_date": f"{lead}, but none offers {s.hours:g} h ending by the due date "
                    f"{o.due:%Y-%m-%d %H:%M} UTC",
        "precedence": f"{lead}, but none ends late enough after the preceding steps "
                      "(with transit) or early enough for the following ones",
        "max_factories": f"{lead}, but the order may use at most {o.max_factories} factories",
    }
    return texts[stage]
