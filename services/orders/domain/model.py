"""The Order aggregate and its steps; every status change goes through the state machines."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.orders.domain.errors import (
    InvalidOrder,
    NotCancellable,
    NothingToRevise,
    NotRevisable,
)
from services.orders.domain.rules import OrderTerms, validate_terms
from services.orders.domain.status import (
    ACTIVE_STATUSES,
    CANCELLABLE_STATUSES,
    COMMITTED,
    STARTED,
    OrderStatus,
    StepStatus,
    check_order_move,
    check_step_move,
    derive_status,
)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Placement:
    """Where a step goes, as the matcher or capacity reports it (identities kept internal)."""

    step_id: str
    window_id: str
    factory_id: str
    hours: float
    price: float
    factory_name: str | None = None
    reservation_id: str | None = None


@dataclass(frozen=True)
class PublicAllocation:
    """What a buyer sees of an allocation: no factory or window before the supplier accepted."""

    factory_id: str | None
    factory_name: str | None
    window_id: str | None
    hours: float
    price: float


@dataclass
class Step:
    id: str
    key: str
    process: str
    material: str | None
    quantity: int
    hours: float
    after: list[str] = field(default_factory=list)  # keys of steps of the same order
    status: StepStatus = StepStatus.PENDING
    placement: Placement | None = None
    unplaced_reason: str | None = None
    unplaced_detail: str | None = None
    started_at: datetime | None = None  # as its supplier reported the work
    completed_at: datetime | None = None

    def public_allocation(self) -> PublicAllocation | None:
        p = self.placement
        if p is None or self.status is StepStatus.CANCELLED:
            return None  # nothing placed, or the allocation was given back with the order
        if self.status not in COMMITTED:
            return PublicAllocation(None, None, None, hours=p.hours, price=p.price)
        return PublicAllocation(p.factory_id, p.factory_name, p.window_id, p.hours, p.price)

    def _move(self, wanted: StepStatus) -> None:
        check_step_move(self.status, wanted)
        self.status = wanted

    # Each method below answers None when applied, or why the event was ignored (stale or a
    # repeat). Events of two topics are not ordered with each other, so a hold or an acceptance
    # may arrive before the proposal: the step then walks the legal path to catch up.
    def propose(self, placement: Placement) -> str | None:
        if self.status not in (StepStatus.PENDING, StepStatus.UNPLACED):
            return f"step already {self.status}"
        self._move(StepStatus.PROPOSED)
        self.placement = replace(placement, factory_name=None)
        self.unplaced_reason = self.unplaced_detail = None
        return None

    def hold(self, placement: Placement) -> str | None:
        if self.status is StepStatus.HELD or self.status in COMMITTED:
            return f"step already {self.status}"
        if self.status is not StepStatus.PROPOSED:
            self.propose(placement)
        self._move(StepStatus.HELD)
        self.placement = replace(placement, factory_name=None)
        return None

    def accept(self, placement: Placement) -> str | None:
        if self.status in COMMITTED:
            return f"step already {self.status}"
        if self.status is not StepStatus.HELD:
            self.hold(placement)
        self._move(StepStatus.ACCEPTED)
        self.placement = placement
        return None

    def reject(self, window_id: str) -> str | None:
        """Capacity refused a proposal: back to pending, for the matcher to re-plan. Capacity
        holds a proposal whole or not at all, so a step it holds was held through another
        proposal, and a refusal (e.g. of a second proposal for the held step) leaves it held."""
        if self.status is StepStatus.HELD or self.status in COMMITTED:
            return f"step already {self.status} (capacity refused another proposal)"
        return self.release(window_id)

    def release(self, window_id: str) -> str | None:
        """A declined or expired reservation (or a refused proposal, ``reject``): back to
        pending, for the matcher to re-plan."""
        if self.status not in (StepStatus.PROPOSED, StepStatus.HELD):
            return f"step is {self.status}"
        if self.placement is not None and self.placement.window_id != window_id:
            return "the step is planned on another window now"
        self._move(StepStatus.PENDING)
        self.placement = None
        return None

    def unplace(self, reason: str, detail: str) -> str | None:
        if self.status is StepStatus.HELD or self.status in COMMITTED:
            return f"step already {self.status}"
        if self.status is not StepStatus.UNPLACED:
            self._move(StepStatus.UNPLACED)
        self.placement = None
        self.unplaced_reason, self.unplaced_detail = reason, detail
        return None

    def start(self, window_id: str, *, at: datetime) -> str | None:
        """The supplier began the work of the accepted hours (capacity reports it after the
        acceptance, on the same partition, so the step is accepted by then)."""
        if self.status is not StepStatus.ACCEPTED:
            return f"step is {self.status}"
        return self._produce(window_id, StepStatus.IN_PRODUCTION, started_at=at)

    def complete(self, window_id: str, *, started_at: datetime, at: datetime) -> str | None:
        """The supplier finished the work (with or without a reported start)."""
        if self.status not in (StepStatus.ACCEPTED, StepStatus.IN_PRODUCTION):
            return f"step is {self.status}"
        return self._produce(window_id, StepStatus.COMPLETED,
                             started_at=self.started_at or started_at, completed_at=at)

    def _produce(self, window_id: str, wanted: StepStatus, *, started_at: datetime,
                 completed_at: datetime | None = None) -> str | None:
        if self.placement is None or self.placement.window_id != window_id:
            return "the step's hours were accepted on another window"
        self._move(wanted)
        self.started_at, self.completed_at = started_at, completed_at
        return None

    def cancel(self) -> None:
        """With its order; the placement stays recorded, the buyer no longer sees it."""
        self._move(StepStatus.CANCELLED)


@dataclass
class Outcome:
    """What one event did to an order: steps changed, and steps ignored with the reason."""

    changed: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)


@dataclass
class Order:
    id: str
    buyer_firm_id: str
    terms: OrderTerms
    steps: list[Step]
    created_at: datetime
    updated_at: datetime
    status: OrderStatus = OrderStatus.SUBMITTED
    revision_of: str | None = None  # the order this one revised
    revised_as: str | None = None  # the order that replaced this one

    @classmethod
    def submit(
        cls,
        terms: OrderTerms,
        *,
        buyer_firm_id: str,
        buyer_clusters: Collection[str],
        cluster_known: bool,
        now: datetime,
    ) -> Order:
        """A new order from valid terms (raises InvalidOrder naming every bad field)."""
        errors = validate_terms(terms, now=now, cluster_known=cluster_known,
                                buyer_clusters=buyer_clusters)
        if errors:
            raise InvalidOrder(errors)
        steps = [
            Step(id=new_id("stp"), key=s.key, process=s.process, material=s.material,
                 quantity=s.quantity, hours=s.hours, after=list(dict.fromkeys(s.after)))
            for s in terms.steps
        ]
        return cls(id=new_id("ord"), buyer_firm_id=buyer_firm_id, terms=terms, steps=steps,
                   created_at=now, updated_at=now)

    @property
    def cluster_id(self) -> str:
        return self.terms.cluster_id

    def step_ids_by_key(self) -> dict[str, str]:
        return {s.key: s.id for s in self.steps}

    def propose(self, placements: list[Placement], *, now: datetime) -> Outcome:
        return self._apply({p.step_id: lambda s, p=p: s.propose(p) for p in placements}, now)

    def hold(self, placement: Placement, *, now: datetime) -> Outcome:
        return self._apply({placement.step_id: lambda s: s.hold(placement)}, now)

    def accept(self, placement: Placement, *, now: datetime) -> Outcome:
        return self._apply({placement.step_id: lambda s: s.accept(placement)}, now)

    def reject(self, step_id: str, *, window_id: str, now: datetime) -> Outcome:
        return self._apply({step_id: lambda s: s.reject(window_id)}, now)

    def release(self, step_id: str, *, window_id: str, now: datetime) -> Outcome:
        return self._apply({step_id: lambda s: s.release(window_id)}, now)

    def unplace(self, step_id: str, *, reason: str, detail: str, now: datetime) -> Outcome:
        return self._apply({step_id: lambda s: s.unplace(reason, detail)}, now)

    def cancel(self, *, now: datetime) -> None:
        """Cancel the order and every step; allowed until production starts."""
        self._check_cancellable(NotCancellable)
        self._move(OrderStatus.CANCELLED, now)
        for step in self.steps:
            step.cancel()

    def revise(self, changes: Mapping[str, object], *, buyer_clusters: Collection[str],
               now: datetime) -> Order:
        """A new order with these terms changed and the same steps, linked to this one, which
        is cancelled (so its holds and acceptances are given back): a revision is what a
        buyer does when the explanation says a term stands in the way (a distance limit, a
        tier, a due date). Possible as long as cancelling is (NotRevisable); new terms must
        pass every rule (InvalidOrder) and change something (NothingToRevise)."""
        self._check_cancellable(NotRevisable)
        terms = replace(self.terms, **changes)  # type: ignore[arg-type]
        if terms == self.terms:
            raise NothingToRevise(f"the revision leaves every term of order {self.id} as it is")
        revised = Order.submit(terms, buyer_firm_id=self.buyer_firm_id,
                               buyer_clusters=buyer_clusters, cluster_known=True, now=now)
        revised.revision_of, self.revised_as = self.id, revised.id
        self.cancel(now=now)
        return revised

    def start(self, step_id: str, *, window_id: str, at: datetime, now: datetime) -> Outcome:
        """A supplier began a step's work (``at``): the order is in production once all its
        steps have accepted hours (and cannot be cancelled or revised any more)."""
        return self._apply({step_id: lambda s: s.start(window_id, at=at)}, now)

    def complete(self, step_id: str, *, window_id: str, started_at: datetime, at: datetime,
                 now: datetime) -> Outcome:
        """A supplier finished a step's work (``at``): the order is completed when every step
        is."""
        return self._apply(
            {step_id: lambda s: s.complete(window_id, started_at=started_at, at=at)}, now)

    def _check_cancellable(self, error: type[NotCancellable]) -> None:
        """Until production starts: by the order's status, and by its steps (an unplaced or
        partially allocated order may hold a started step)."""
        if self.status not in CANCELLABLE_STATUSES:
            raise error(self.id, self.status)
        started = [s.key for s in self.steps if s.status in STARTED]
        if started:
            raise error(self.id, self.status, started=started)

    def _apply(self, changes: dict[str, Callable[[Step], str | None]], now: datetime) -> Outcome:
        """Apply one change per step id, then derive the order status from its steps."""
        outcome = Outcome()
        by_id = {s.id: s for s in self.steps}
        for step_id, change in changes.items():
            step = by_id.get(step_id)
            if step is None:
                outcome.ignored[step_id] = "no such step in this order"
            elif self.status not in ACTIVE_STATUSES:
                outcome.ignored[step_id] = f"order is {self.status}"
            elif (why := change(step)) is not None:
                outcome.ignored[step_id] = why
            else:
                outcome.changed.append(step_id)
        if outcome.changed:
            derived = derive_status((s.status for s in self.steps), self.status)
            if derived is not self.status:
                self._move(derived, now)
            self.updated_at = now
        return outcome

    def _move(self, wanted: OrderStatus, now: datetime) -> None:
        check_order_move(self.status, wanted)
        self.status = wanted
        self.updated_at = now
