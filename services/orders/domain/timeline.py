"""Timeline entries: one per event that touched an order, as the buyer may read them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Keys that name a supplier's factory, machine, window or reservation. Only the summary of the
# event that reports the supplier's acceptance may hold them (DESIGN §5: no identity before).
IDENTITY_KEYS = frozenset({"factory_id", "factory_name", "machine_id", "window_id",
                           "reservation_id"})
REVEALING_TYPES = frozenset({"reservation.accepted"})

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


@dataclass(frozen=True)
class TimelineEntry:
    order_id: str
    event_id: str
    type: str
    occurred_at: datetime
    step_id: str | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in REVEALING_TYPES and (leaked := IDENTITY_KEYS & set(self.summary)):
            raise ValueError(f"a {self.type} summary may not name {sorted(leaked)}")


def reason_code(reason: str | None) -> str | None:
    """The leading code of a reason (``capacity_exceeded: window W7 has 2 h``) without the
    free text after it, which may name a window or a factory; None when there is no code."""
    if not reason:
        return None
    code = reason.split(":", 1)[0].strip()
    return code if _CODE.match(code) else None
