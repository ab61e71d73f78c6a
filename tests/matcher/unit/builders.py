"""Small hand-checkable instances for the solver tests.

The base instance: factory f1 (advanced, SME, ISO9001) in Qinhuangdao with one 5-axis mill m1
(cnc_milling, steel/aluminium, 180 CNY/h) and one window w1 of 20 h ending T0 + 48 h; one order
o1 (priority 1, due T0 + 7 d, delivery 39.94/119.55, 60 km) with one 6 h milling step on steel.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from services.matcher.domain.model import (
    Factory,
    Instance,
    Machine,
    Order,
    Parameters,
    Step,
    Window,
)

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)


def h(hours: float) -> datetime:
    """T0 + ``hours``."""
    return T0 + timedelta(hours=hours)


def factory(fid: str = "f1", **kw) -> Factory:  # type: ignore[no-untyped-def]
    base = dict(id=fid, firm_id=f"firm-{fid}", lat=39.95, lon=119.58, tier="advanced", sme=True,
                certifications=frozenset({"ISO9001"}))
    return Factory(**{**base, **kw})


def machine(mid: str = "m1", factory_id: str = "f1", **kw) -> Machine:  # type: ignore[no-untyped-def]
    base = dict(id=mid, factory_id=factory_id, process="cnc_milling",
                materials=frozenset({"steel", "aluminium"}), hourly_rate=180.0)
    return Machine(**{**base, **kw})


def window(wid: str = "w1", machine_id: str = "m1", *, end: float = 48, hours: float = 20,
           start: float = 0, offered: float | None = None) -> Window:
    return Window(id=wid, machine_id=machine_id, start=h(start), end=h(end), hours=hours,
                  offered_hours=offered)


def step(sid: str = "s1", **kw) -> Step:  # type: ignore[no-untyped-def]
    base = dict(id=sid, process="cnc_milling", material="steel", hours=6.0)
    return Step(**{**base, **kw})


def order(oid: str = "o1", steps: tuple[Step, ...] | None = None, **kw) -> Order:  # type: ignore[no-untyped-def]
    base = dict(id=oid, buyer_id="firm-b1", lat=39.94, lon=119.55, due=h(24 * 7),
                max_distance_km=60.0, priority=1)
    return Order(**{**base, **kw}, steps=steps if steps is not None else (step(f"{oid}-s1"),))


def instance(*, factories=None, machines=None, windows=None, orders=None,  # type: ignore[no-untyped-def]
             params: Parameters | None = None, now: datetime | None = None) -> Instance:
    return Instance(
        factories=tuple(factories if factories is not None else [factory()]),
        machines=tuple(machines if machines is not None else [machine()]),
        windows=tuple(windows if windows is not None else [window()]),
        orders=tuple(orders if orders is not None else [order()]),
        params=params or Parameters(), now=now)


def replace(obj, **kw):  # type: ignore[no-untyped-def]
    return dataclasses.replace(obj, **kw)
