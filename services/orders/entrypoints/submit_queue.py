"""Group commit for ``POST /v1/orders``: requests wait in a queue while one group is written;
the next group is everything that queued meanwhile (no timer: alone, a request is written at
once). One writer thread, one transaction and one commit per group instead of one per request —
on SQLite, which has a single writer, that is what lets the API keep up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from anyio import to_thread

from services.orders.domain.commands import SubmitOrder
from services.orders.domain.model import Order
from services.orders.service_layer.group_commit import Answer, submit_each, submit_many
from services.orders.service_layer.unit_of_work import AbstractUnitOfWork

logger = logging.getLogger(__name__)

MAX_GROUP = 200  # requests per transaction


class SubmitQueue:
    def __init__(self, uow_factory: Callable[[], AbstractUnitOfWork]) -> None:
        self._uow_factory = uow_factory
        self._waiting: list[tuple[SubmitOrder, asyncio.Future[Answer]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.groups = 0  # written so far, and the largest: what grouping achieved
        self.largest = 0

    async def submit(self, cmd: SubmitOrder) -> tuple[Order, bool]:
        """(order, replayed), or raises what ``handlers.submit_order`` would raise."""
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((cmd, answer))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        result = await asyncio.shield(answer)  # a client that leaves does not stop the group
        if isinstance(result, Exception):
            raise result
        return result

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
                self.groups += 1
                self.largest = max(self.largest, len(group))
                cmds = [cmd for cmd, _ in group]
                try:
                    answers = await to_thread.run_sync(self._write, cmds)
                except Exception as exc:  # e.g. the database is down: every request hears it
                    answers = [exc] * len(group)
                for (_, future), answer in zip(group, answers, strict=True):
                    future.set_result(answer)
        finally:
            self._writer = None

    def _write(self, cmds: list[SubmitOrder]) -> list[Answer]:
        if len(cmds) == 1:
            return submit_each(cmds, self._uow_factory)
        try:
            return submit_many(cmds, self._uow_factory())
        except Exception as exc:
            logger.info("a group of %d orders could not be written together (%s); "
                        "writing them one by one", len(cmds), exc)
            return submit_each(cmds, self._uow_factory)
