"""The cluster's shared vocabulary: factory tiers and processes (stdlib only)."""

from __future__ import annotations

TIERS: tuple[str, ...] = ("basic", "advanced", "excellent", "leading")

PROCESSES: frozenset[str] = frozenset({
    "cnc_milling", "cnc_turning", "grinding", "stamping", "sheet_metal", "laser_cutting",
    "welding", "casting", "forging", "injection_molding", "heat_treatment", "surface_coating",
    "3d_printing", "pcb_assembly", "assembly", "inspection",
})


def tier_rank(tier: str | None) -> int:
    """0 for basic … 3 for leading; a factory with no verified tier counts as basic."""
    return TIERS.index(tier) if tier else 0
