"""The eligibility funnel of DESIGN §4, vectorised over windows and steps (numpy).

``eligibility.funnel`` tests one step against every window in Python: right for explaining one
step, far too slow for a cluster (10,000 steps × 20,000 windows is 2·10⁸ pairs). Here the
windows become arrays once (process code, factory index, tier rank, certificate and material
bits, end time, offered and free hours) and are grouped by process; the steps of one process
are then tested in blocks against that group with array comparisons: material, tier,
certifications, distance (haversine on an orders × factories matrix), buyer rules, hours and
due date, then the plan-independent part of the last stages: precedence with *pinned*
siblings, free hours and excluded windows, ``max_factories`` against the pinned factories.

The result equals ``funnel(instance, order, step)`` for every free step (nothing placed but
the pinned steps): the same eligible windows in the same order, the same stage counts and the
same reason code (a test checks this on random instances). Details and nearest misses stay
with ``eligibility.funnel``, which is run only for the few steps that need an explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from services.matcher.domain import reasons
from services.matcher.domain.costs import EARTH_RADIUS_KM
from services.matcher.domain.model import EPS, Instance, Order, Step
from shared.vocabulary import tier_rank

BLOCK = 512  # steps tested together against one process group (bounds the matrices' size)
TRANSIT_TABLE_MAX = 2000  # up to this many factories, transit hours are one table, made once
_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

# stage names in funnel order after "windows" and "process", with the reason that empties them
STAGES: tuple[tuple[str, str], ...] = (
    ("material", reasons.MATERIAL_UNSUPPORTED),
    ("tier", reasons.TIER_BELOW_MINIMUM),
    ("certifications", reasons.CERTIFICATION_MISSING),
    ("distance", reasons.OUTSIDE_DISTANCE),
    ("buyer_rules", reasons.BLOCKED_BY_BUYER),
    ("due_date", reasons.NO_WINDOW_BEFORE_DUE),
    ("precedence", reasons.NO_WINDOW_BEFORE_DUE),
    ("free_capacity", reasons.CAPACITY_TAKEN),
    ("max_factories", reasons.TOO_MANY_FACTORIES),
)


def hours_since_epoch(value: datetime) -> float:
    return (value - _EPOCH).total_seconds() / 3600.0


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    p, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)], axis=1)


def haversine_matrix(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
                     ) -> np.ndarray:
    """Great-circle km between every point of (lat1, lon1) and every point of (lat2, lon2).

    The haversine's sin²(d/2) is (1 − u·v) / 2 for the points' unit vectors u and v, so the
    whole matrix is one matrix product plus one arcsin per pair."""
    a = _unit_vectors(lat1, lon1) @ _unit_vectors(lat2, lon2).T
    np.subtract(1.0, a, out=a)
    a *= 0.5
    np.clip(a, 0.0, 1.0, out=a)
    np.sqrt(a, out=a)
    np.arcsin(a, out=a)
    a *= 2 * EARTH_RADIUS_KM
    return a


@dataclass(frozen=True)
class StepEligibility:
    """One free step: its eligible windows (indices into ``EligibilityIndex.window_ids``), the
    candidates left after each stage, and the reason code when none is left."""

    step_id: str
    order_id: str
    windows: np.ndarray
    counts: tuple[tuple[str, int], ...]
    reason: str | None
    static: np.ndarray  # the windows past the static stages (process … due date)


class EligibilityIndex:
    """The windows of an ``Instance`` as arrays, grouped by process."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        cands = list(instance.candidates.values())
        self.window_ids = [c.window.id for c in cands]
        self.position = {wid: i for i, wid in enumerate(self.window_ids)}
        self.factory_ids = sorted({c.factory.id for c in cands}
                                  | {f.id for f in instance.factories})
        fpos = {fid: i for i, fid in enumerate(self.factory_ids)}
        factories = {f.id: f for f in instance.factories}
        self.f_lat = np.array([factories[f].lat for f in self.factory_ids], dtype=float)
        self.f_lon = np.array([factories[f].lon for f in self.factory_ids], dtype=float)
        self.factory = np.array([fpos[c.factory.id] for c in cands], dtype=np.int64)
        self.tier = np.array([tier_rank(c.factory.tier) for c in cands], dtype=np.int64)
        self.end = np.array([hours_since_epoch(c.window.end) for c in cands], dtype=float)
        self.offered = np.array([c.window.offered for c in cands], dtype=float)
        self.free = np.array([c.window.hours for c in cands], dtype=float)
        self.rate = np.array([c.machine.hourly_rate for c in cands], dtype=float)
        self.sme = np.array([c.factory.sme for c in cands], dtype=bool)
        self.materials = sorted({m for c in cands for m in c.machine.materials})
        mpos = {m: i for i, m in enumerate(self.materials)}
        self.takes = np.zeros((len(cands), max(1, len(self.materials))), dtype=bool)
        for i, c in enumerate(cands):
            self.takes[i, [mpos[m] for m in c.machine.materials]] = True
        required = sorted({c for o in instance.orders for c in o.certifications})
        self.cert_bit = {c: i for i, c in enumerate(required)}
        self.certs = np.zeros((len(cands), max(1, len(required))), dtype=bool)
        for i, c in enumerate(cands):
            for cert in c.factory.certifications & set(required):
                self.certs[i, self.cert_bit[cert]] = True
        groups: dict[str, list[int]] = {}
        for i, c in enumerate(cands):
            groups.setdefault(c.machine.process, []).append(i)
        self.by_process = {p: np.array(ix, dtype=np.int64) for p, ix in groups.items()}
        orders = instance.orders
        self.order_pos = {o.id: i for i, o in enumerate(orders)}
        self.delivery_km = haversine_matrix(
            np.array([o.lat for o in orders], dtype=float),
            np.array([o.lon for o in orders], dtype=float), self.f_lat, self.f_lon)
        self.fpos = fpos
        self._transit: np.ndarray | None = None

    # -- distances between factories (for transit) ----------------------------------------
    def factory_km(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return haversine_matrix(self.f_lat[rows], self.f_lon[rows], self.f_lat[cols],
                                self.f_lon[cols])

    def transit_h(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Hours between factories ``rows`` × ``cols`` (0 within a factory)."""
        if self._transit is None and len(self.factory_ids) <= TRANSIT_TABLE_MAX:
            every = np.arange(len(self.factory_ids))
            self._transit = self._transit_h(every, every)
        if self._transit is not None:
            return self._transit[np.ix_(rows, cols)]
        return self._transit_h(rows, cols)

    def _transit_h(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        km = self.factory_km(rows, cols)
        km[rows[:, None] == cols[None, :]] = 0.0
        return km / self.instance.params.speed_kmh

    # -- the funnel --------------------------------------------------------------------------
    def eligible(self) -> dict[str, StepEligibility]:
        """Every free step of every order, by step id (in the instance's order)."""
        jobs: dict[str, list[tuple[Order, Step]]] = {}
        for o in self.instance.orders:
            for s in o.free_steps:
                jobs.setdefault(s.process, []).append((o, s))
        out: dict[str, StepEligibility] = {}
        n_all = len(self.window_ids)
        for process, items in jobs.items():
            group = self.by_process.get(process)
            if group is None:
                for o, s in items:
                    out[s.id] = StepEligibility(s.id, o.id, np.empty(0, np.int64),
                                                (("windows", n_all), ("process", 0)),
                                                reasons.NO_CAPABLE_MACHINE,
                                                np.empty(0, np.int64))
                continue
            for start in range(0, len(items), BLOCK):
                out.update(self._block(group, items[start:start + BLOCK]))
        return {s.id: out[s.id] for o in self.instance.orders for s in o.free_steps}

    def _block(self, group: np.ndarray, items: list[tuple[Order, Step]]
               ) -> dict[str, StepEligibility]:
        masks = self._static_masks(group, items)
        n_static = len(masks)
        masks += self._plan_masks(group, items)
        n_all = len(self.window_ids)
        alive = np.ones((len(items), len(group)), dtype=bool)
        counts = np.empty((len(items), len(masks)), dtype=np.int64)
        for k, mask in enumerate(masks):
            if k == n_static:
                static = alive.copy()
            alive &= mask
            counts[:, k] = np.count_nonzero(alive, axis=1)
        out = {}
        for r, (o, s) in enumerate(items):
            stage_counts = [("windows", n_all), ("process", len(group))]
            reason = None
            for k, (stage, why) in enumerate(STAGES):
                stage_counts.append((stage, int(counts[r, k])))
                if counts[r, k] == 0:
                    reason = why
                    break
            out[s.id] = StepEligibility(s.id, o.id, group[alive[r]], tuple(stage_counts),
                                        reason, group[static[r]])
        return out

    def _static_masks(self, group: np.ndarray, items: list[tuple[Order, Step]]
                      ) -> list[np.ndarray]:
        n, g = len(items), len(group)
        mpos = {m: i for i, m in enumerate(self.materials)}
        wanted = [s.material for _, s in items]
        codes = np.array([mpos.get(m, -1) if m is not None else -1 for m in wanted],
                         dtype=np.int64)
        material = self.takes[group].T[np.maximum(codes, 0)]
        material[codes < 0] = True
        for r, m in enumerate(wanted):
            if m is not None and m not in mpos:
                material[r] = False  # no machine in the cluster takes it
        min_tier = np.array([tier_rank(o.min_tier) for o, _ in items], dtype=np.int64)
        tier = self.tier[group][None, :] >= min_tier[:, None]
        certs = np.ones((n, g), dtype=bool)
        if self.cert_bit:
            needs = np.zeros((n, len(self.cert_bit)), dtype=bool)
            for r, (o, _) in enumerate(items):
                needs[r, [self.cert_bit[c] for c in o.certifications]] = True
            held = self.certs[group]
            for c in range(len(self.cert_bit)):
                if needs[:, c].any():
                    certs &= ~needs[:, c, None] | held[None, :, c]
        opos = np.array([self.order_pos[o.id] for o, _ in items], dtype=np.int64)
        limit = np.array([o.max_distance_km for o, _ in items], dtype=float)
        km = self.delivery_km[opos][:, self.factory[group]]
        distance = km <= limit[:, None] + EPS
        buyer = np.ones((n, g), dtype=bool)
        for r, (o, _) in enumerate(items):
            if o.blocked_factories or o.allowed_factories:
                buyer[r] = self._buyer_row(o, group)
        hours = np.array([s.hours for _, s in items], dtype=float)
        due = np.array([hours_since_epoch(o.due) for o, _ in items], dtype=float)
        ends = self.end[group][None, :]
        window = (self.offered[group][None, :] + EPS >= hours[:, None]) & (ends <= due[:, None])
        if self.instance.now is not None:
            window &= ends > hours_since_epoch(self.instance.now)
        return [material, tier, certs, distance, buyer, window]

    def _buyer_row(self, o: Order, group: np.ndarray) -> np.ndarray:
        fac = self.factory[group]
        blocked = [self.fpos[f] for f in o.blocked_factories if f in self.fpos]
        row = ~np.isin(fac, blocked)
        if o.allowed_factories:
            row &= np.isin(fac, [self.fpos[f] for f in o.allowed_factories if f in self.fpos])
        return row

    def _plan_masks(self, group: np.ndarray, items: list[tuple[Order, Step]]
                    ) -> list[np.ndarray]:
        """Precedence with pinned siblings, free hours (and excluded windows), and
        ``max_factories`` against the factories the order's pinned steps use."""
        n, g = len(items), len(group)
        hours = np.array([s.hours for _, s in items], dtype=float)
        free = self.free[group][None, :] + EPS >= hours[:, None]
        precedence = np.ones((n, g), dtype=bool)
        factories = np.ones((n, g), dtype=bool)
        for r, (o, s) in enumerate(items):
            if s.excluded_windows:
                gone = [self.position[w] for w in s.excluded_windows if w in self.position]
                free[r] &= ~np.isin(group, gone)
            pinned = self._pinned_neighbours(o, s)
            if pinned:
                precedence[r] = self._precedence_row(group, s, pinned)
            if o.max_factories is not None:
                used = {int(self.factory[self.position[x.pinned_window]]) for x in o.steps
                        if x.id != s.id and x.pinned_window in self.position}
                if len(used) >= o.max_factories:
                    factories[r] = np.isin(self.factory[group], sorted(used))
        return [precedence, free, factories]

    def _pinned_neighbours(self, o: Order, s: Step) -> list[tuple[int, Step, bool]]:
        """(window index, sibling, True if it must finish before ``s``) for pinned siblings."""
        out = []
        for other in o.steps:
            w = other.pinned_window
            if other.id == s.id or w is None or w not in self.position:
                continue
            if other.id in s.after:
                out.append((self.position[w], other, True))
            elif s.id in other.after:
                out.append((self.position[w], other, False))
        return out

    def _precedence_row(self, group: np.ndarray, s: Step,
                        pinned: list[tuple[int, Step, bool]]) -> np.ndarray:
        row = np.ones(len(group), dtype=bool)
        fac, ends = self.factory[group], self.end[group]
        for w, other, first in pinned:
            transit = self.transit_h(np.array([self.factory[w]]), fac)[0]
            if first:  # other (pinned) → s: w.end + transit + s.hours ≤ candidate end
                row &= transit + s.hours <= (ends - self.end[w]) + 1e-6
            else:  # s → other (pinned): candidate end + transit + other.hours ≤ w.end
                row &= transit + other.hours <= (self.end[w] - ends) + 1e-6
        return row

    # -- prices and the greedy's order of preference ------------------------------------------
    def prices(self, order: Order, step: Step, windows: np.ndarray) -> tuple[np.ndarray,
                                                                            np.ndarray]:
        """(price, objective term) of ``step`` on each of ``windows`` (DESIGN §4)."""
        p = self.instance.params
        km = self.delivery_km[self.order_pos[order.id]][self.factory[windows]]
        price = step.hours * self.rate[windows] + p.transport_cost_per_km * km
        bonus = np.where(self.sme[windows], p.sme_bonus_per_hour * step.hours, 0.0)
        return price, price - bonus

    def preference(self, order: Order, step: Step, windows: np.ndarray) -> np.ndarray:
        """``windows`` from best to worst for the greedy: objective term, then earlier end,
        then window id."""
        if not hasattr(self, "_id_rank"):
            self._id_rank = np.argsort(np.argsort(np.array(self.window_ids, dtype=object)))
        _, term = self.prices(order, step, windows)
        return windows[np.lexsort((self._id_rank[windows], self.end[windows], term))]
