"""Planning algorithms over the domain's Instance: the eligibility funnel (per step and
vectorised), the greedy plan, the CP-SAT optimiser (``solve.py``) and an independent plan
checker (ortools, numpy, the standard library and shared.vocabulary only)."""
