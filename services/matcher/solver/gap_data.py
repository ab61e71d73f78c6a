"""Generalized assignment (GAP) benchmark files: parsing and checking assignments.

Formats (see ../shared/data/gap/README.md): a per-instance file is ``m n``, then m*n costs, m*n
resources (both agent-major) and m capacities; OR-Library's multi-problem file (``gapd.txt``)
starts with the number of problems P followed by P such blocks. Line breaks carry no meaning, so
everything is parsed as whitespace-separated integer tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class GapFormatError(ValueError):
    """A GAP file that does not follow the format."""


@dataclass(frozen=True)
class GapInstance:
    """m agents (capacity windows), n jobs (steps); cost[i, j], resource[i, j], capacity[i]."""

    name: str
    cost: np.ndarray       # (m, n) int64
    resource: np.ndarray   # (m, n) int64
    capacity: np.ndarray   # (m,) int64

    @property
    def m(self) -> int:
        return int(self.cost.shape[0])

    @property
    def n(self) -> int:
        return int(self.cost.shape[1])


def _tokens(text: str, *, source: str) -> list[int]:
    try:
        return [int(token) for token in text.split()]
    except ValueError as exc:
        raise GapFormatError(f"{source}: non-integer token ({exc})") from exc


def _block(tokens: Sequence[int], start: int, *, name: str) -> tuple[GapInstance, int]:
    """Read one ``m n c r b`` block from tokens[start:]; return it and the index after it."""
    if len(tokens) < start + 2:
        raise GapFormatError(f"{name}: missing 'm n' header")
    m, n = tokens[start], tokens[start + 1]
    if m <= 0 or n <= 0:
        raise GapFormatError(f"{name}: m and n must be positive, got m={m} n={n}")
    need = 2 + 2 * m * n + m
    if len(tokens) < start + need:
        raise GapFormatError(
            f"{name}: expected {need} integers for m={m} n={n}, found {len(tokens) - start}")
    body = np.asarray(tokens[start + 2:start + need], dtype=np.int64)
    cost = body[:m * n].reshape(m, n)
    resource = body[m * n:2 * m * n].reshape(m, n)
    capacity = body[2 * m * n:]
    if (resource < 0).any() or (capacity < 0).any():
        raise GapFormatError(f"{name}: negative resource or capacity")
    return GapInstance(name=name, cost=cost, resource=resource, capacity=capacity), start + need


def parse_instance(text: str, *, name: str = "instance") -> GapInstance:
    """One problem without a leading P (the gap_d/* and gap_e/* files)."""
    tokens = _tokens(text, source=name)
    instance, end = _block(tokens, 0, name=name)
    if end != len(tokens):
        raise GapFormatError(f"{name}: {len(tokens) - end} unexpected tokens after the capacities")
    return instance


def parse_multi(text: str, *, name: str = "gapd.txt") -> list[GapInstance]:
    """OR-Library's multi-problem file: P, then P blocks; problems are named ``<name>#<p>``."""
    tokens = _tokens(text, source=name)
    if not tokens or tokens[0] <= 0:
        raise GapFormatError(f"{name}: expected a positive problem count P first")
    instances, at = [], 1
    for p in range(1, tokens[0] + 1):
        instance, at = _block(tokens, at, name=f"{name}#{p}")
        instances.append(instance)
    if at != len(tokens):
        raise GapFormatError(f"{name}: {len(tokens) - at} unexpected tokens after problem P")
    return instances


def parse_any(text: str, *, name: str) -> list[GapInstance]:
    """A single instance when the tokens make exactly one block, else a P-problem file."""
    try:
        return [parse_instance(text, name=name)]
    except GapFormatError as single:
        try:
            return parse_multi(text, name=name)
        except GapFormatError as multi:
            raise GapFormatError(
                f"neither one instance ({single}) nor a P-problem file ({multi})") from None


def load(path: Path) -> list[GapInstance]:
    """Every problem in a GAP file, whichever of the two formats it uses."""
    return parse_any(path.read_text(), name=path.name)


def violations(instance: GapInstance, assignment: Sequence[int]) -> list[str]:
    """Why an assignment is not feasible (empty when it is): one agent per job, capacities."""
    if len(assignment) != instance.n:
        return [f"{len(assignment)} jobs assigned, expected {instance.n}"]
    agents = np.asarray(assignment, dtype=np.int64)
    if ((agents < 0) | (agents >= instance.m)).any():
        return ["agent index out of range"]
    load_ = np.bincount(agents, weights=instance.resource[agents, np.arange(instance.n)],
                        minlength=instance.m)
    return [f"agent {i}: load {int(load_[i])} > capacity {int(instance.capacity[i])}"
            for i in np.flatnonzero(load_ > instance.capacity)]


def cost_of(instance: GapInstance, assignment: Sequence[int]) -> int:
    agents = np.asarray(assignment, dtype=np.int64)
    return int(instance.cost[agents, np.arange(instance.n)].sum())
