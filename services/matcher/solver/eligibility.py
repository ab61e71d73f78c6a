"""The eligibility funnel of DESIGN §4: which windows a step may take, and if none, why.

Every window of the cluster is a candidate; each stage removes the candidates that fail its
test. The first stage that leaves none gives the step's reason code. The static stages
(process … due date) depend only on the data; the last three depend on the plan being built
(``PlanState``): precedence with the order's placed and pinned steps, free hours left, and the
order's ``max_factories``. The greedy and the explanation API use the same funnel, and so will
the optimiser (it needs the static part only).
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Funnel:
    step_id: str
    stages: tuple[StageCount, ...]
    eligible: tuple[str, ...]  # window ids that pass every stage
    reason: str | None = None  # None when ``eligible`` is not empty
    detail: str = ""
    nearest_miss: str | None = None  # what stopped the candidate that came closest


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


Check = Callable[[_Ctx, Candidate], str | None]  # None = passes, else why not


def _material(x: _Ctx, c: Candidate) -> str | None:
    m = x.step.material
    return None if m is None or m in c.machine.materials else f"machine does not take {m}"


def _tier(x: _Ctx, c: Candidate) -> str | None:
    if tier_rank(c.factory.tier) >= tier_rank(x.order.min_tier):
        return None
    return f"factory tier {c.factory.tier} is below {x.order.min_tier}"


def _certifications(x: _Ctx, c: Candidate) -> str | None:
    missing = x.order.certifications - c.factory.certifications
    return f"factory lacks {', '.join(sorted(missing))}" if missing else None


def _distance(x: _Ctx, c: Candidate) -> str | None:
    km = delivery_km(c, x.order)
    if km <= x.order.max_distance_km + EPS:
        return None
    return f"factory is {km:.1f} km from delivery (limit {x.order.max_distance_km:g} km)"


def _buyer(x: _Ctx, c: Candidate) -> str | None:
    if c.factory.id in x.order.blocked_factories:
        return "the buyer blocked this factory"
    if x.order.allowed_factories and c.factory.id not in x.order.allowed_factories:
        return "factory is not on the buyer's allowed list"
    return None


def _window(x: _Ctx, c: Candidate) -> str | None:
    w, s = c.window, x.step
    if w.offered + EPS < s.hours:
        return f"window offers {w.offered:g} h, the step needs {s.hours:g} h"
    if w.end > x.order.due:
        return f"window ends {w.end:%Y-%m-%d %H:%M} UTC, after the due date"
    if x.instance.now is not None and w.end <= x.instance.now:
        return "window has already ended"
    return None


def _precedence(x: _Ctx, c: Candidate) -> str | None:
    params = x.instance.params
    for other_c, other, first in x.neighbours():
        if first and not precedence_ok(before=other_c, after=c, after_hours=x.step.hours,
                                       params=params):
            transit = transit_hours(other_c, c, params)
            return f"too early after a preceding step (transit {transit:.1f} h)"
        if not first and not precedence_ok(before=c, after=other_c, after_hours=other.hours,
                                           params=params):
            return "ends too late for a following step already placed"
    return None


def _capacity(x: _Ctx, c: Candidate) -> str | None:
    if c.window.id in x.step.excluded_windows:
        return "window was rejected or declined for this step"
    free = x.state.free.get(c.window.id, c.window.hours)
    if free + EPS < x.step.hours:
        return f"only {max(free, 0.0):g} of {c.window.offered:g} h left"
    return None


def _factories(x: _Ctx, c: Candidate) -> str | None:
    limit = x.order.max_factories
    if limit is None:
        return None
    used = x.factories_in_use()
    if c.factory.id in used or len(used) < limit:
        return None
    return f"the order already uses {len(used)} factories (max {limit})"


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
    out += [f"{stage}: {why}" for stage, _, check in _STAGES
            if stage in STATIC_STAGES and (why := check(x, c)) is not None]
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
                      f"no {step.process} machine")
    miss: tuple[int, str] | None = None
    for i, (stage, reason, check) in enumerate(_STAGES):
        kept = []
        for c in survivors:
            why = check(x, c)
            if why is None:
                kept.append(c)
            elif miss is None or i > miss[0]:
                miss = (i, f"{stage}: {why}")
        counts.append(StageCount(stage, len(kept)))
        if not kept:
            excluded = sum(1 for c in survivors if c.window.id in step.excluded_windows)
            return Funnel(step.id, tuple(counts), (), reason,
                          stage_detail(stage, order, step, len(survivors), excluded),
                          miss[1] if miss else None)
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
