"""The matcher's domain: planning inputs and outputs, costs, reasons, the read model's records."""

from services.matcher.domain.costs import haversine_km
from services.matcher.domain.model import (
    Allocation,
    Factory,
    Instance,
    Machine,
    Order,
    Parameters,
    Plan,
    Step,
    Unplaced,
    Window,
)

__all__ = [
    "Allocation", "Factory", "Instance", "Machine", "Order", "Parameters", "Plan", "Step",
    "Unplaced", "Window", "haversine_km",
]
