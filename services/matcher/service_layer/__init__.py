"""Handlers, planning runs and read-side views; they reach storage through the UoW port."""
