"""The orders service: buyers submit orders of process steps; it follows them to allocation."""
