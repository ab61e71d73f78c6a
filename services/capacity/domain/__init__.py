"""Capacity domain: dataclasses, rules and the reservation state machine (standard library only)."""
