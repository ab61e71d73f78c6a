"""Why a step is unplaced: the first funnel stage that empties its candidate set (DESIGN §4)."""

NO_CAPABLE_MACHINE = "no_capable_machine"
MATERIAL_UNSUPPORTED = "material_unsupported"
TIER_BELOW_MINIMUM = "tier_below_minimum"
CERTIFICATION_MISSING = "certification_missing"
OUTSIDE_DISTANCE = "outside_distance"
BLOCKED_BY_BUYER = "blocked_by_buyer"
NO_WINDOW_BEFORE_DUE = "no_window_before_due"
CAPACITY_TAKEN = "capacity_taken"
# The order may use at most ``max_factories`` factories and the ones it already uses have no
# eligible window left (DESIGN names no code for this; this one is ours).
TOO_MANY_FACTORIES = "too_many_factories"
OVER_BUDGET = "over_budget"
ORDER_INCOMPLETE = "order_incomplete"

ALL = (
    NO_CAPABLE_MACHINE, MATERIAL_UNSUPPORTED, TIER_BELOW_MINIMUM, CERTIFICATION_MISSING,
    OUTSIDE_DISTANCE, BLOCKED_BY_BUYER, NO_WINDOW_BEFORE_DUE, CAPACITY_TAKEN, TOO_MANY_FACTORIES,
    OVER_BUDGET, ORDER_INCOMPLETE,
)
