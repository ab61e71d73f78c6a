"""Planning algorithms over the domain's Instance: the eligibility funnel, the greedy plan and an
independent plan checker (standard library + shared.vocabulary; the optimiser joins later)."""
