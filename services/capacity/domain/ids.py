"""Server-made ids: a prefix, then hex that sorts by creation time (cursor pagination uses it)."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str) -> str:
    """``fac_0193a1b2c3d4e5f6a7b8c9d0``: 12 hex digits of milliseconds, then 12 random ones."""
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(6)}"
