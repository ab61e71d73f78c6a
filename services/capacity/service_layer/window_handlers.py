"""Changing windows: move or resize one, close one, import many from a CSV file.

Writers that can create an overlap lock the machine row first (as opening a window does), so
overlap checks of one machine are serialised; hour changes compare-and-set on the version.
"""

from __future__ import annotations

import logging

from services.capacity.domain import commands
from services.capacity.domain.ids import new_id
from services.capacity.domain.model import SUPPLIER
from services.capacity.domain.window_import import parse_csv, plan_import
from services.capacity.domain.windows import Window
from services.capacity.service_layer import messages
from services.capacity.service_layer.base import retry_on_conflict, visible_window
from services.capacity.service_layer.unit_of_work import CapacityUnitOfWork

logger = logging.getLogger(__name__)


@retry_on_conflict
def update_window(cmd: commands.UpdateWindow, uow: CapacityUnitOfWork) -> Window:
    cmd.actor.require(SUPPLIER)
    with uow:
        window = visible_window(uow, cmd.actor, cmd.window_id)
        uow.machines.get(window.machine_id, lock=True)  # serialises overlap checks
        changed = window.reschedule(start=cmd.start, end=cmd.end, hours=cmd.hours,
                                    others=uow.windows.for_machine(window.machine_id),
                                    now=cmd.at)
        if changed:
            uow.windows.save(window)
            uow.publish(messages.window_updated(window))
            uow.commit()
    return window


@retry_on_conflict
def close_window(cmd: commands.CloseWindow, uow: CapacityUnitOfWork) -> None:
    cmd.actor.require(SUPPLIER)
    with uow:
        window = visible_window(uow, cmd.actor, cmd.window_id)
        window.close(now=cmd.at,
                     completed_hours=uow.reservations.completed_hours([window.id]).get(
                         window.id, 0.0))
        uow.windows.save(window)
        uow.publish(messages.window_closed(window))
        uow.commit()


@retry_on_conflict
def import_windows(cmd: commands.ImportWindows, uow: CapacityUnitOfWork) -> list[Window]:
    """Every row becomes a window (window.opened each), or ImportRejected names the bad rows."""
    cmd.actor.require(SUPPLIER)
    parsed = parse_csv(cmd.csv_text, now=cmd.at)
    with uow:
        machines = uow.machines.refs(parsed.machine_ids, firm_id=cmd.actor.firm_id, lock=True)
        windows = plan_import(parsed, machines=machines,
                              existing=uow.windows.for_machines(machines),
                              new_id=lambda: new_id("win"))
        uow.windows.add_many(windows)
        uow.publish_all([messages.window_opened(w) for w in windows])
        uow.commit()
    logger.info("%d windows imported on %d machines", len(windows), len(machines))
    return windows
