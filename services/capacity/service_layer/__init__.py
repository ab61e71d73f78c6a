"""Capacity use cases: command and event handlers over the unit-of-work port."""
