"""Unit of work over SQLAlchemy: one transaction holding the state change, its outbox events
and, for consumers, the inbox record — committed together or not at all. On SQLite it also
takes the process's turn to write (``shared.db.write_turn``).

Services subclass it to attach their repositories in ``_open``.

A consumer may apply several events in one transaction (``together``): the handlers' own
``with uow`` / ``commit()`` join the outer transaction, which commits once at the end; if any
handler fails, the whole group is rolled back (``GroupAborted``) and the consumer applies the
events one by one instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Self

from sqlalchemy.orm import Session, sessionmaker

from shared.db import write_turn
from shared.events import Envelope
from shared.messaging.outbox import (
    add_all_to_outbox,
    add_to_outbox,
    claim_all_in_inbox,
    claim_in_inbox,
)


class GroupAborted(Exception):
    """A handler failed inside ``together()``: nothing of the group was kept (the cause says
    why)."""


class SqlAlchemyUnitOfWork:
    session: Session

    def __init__(
        self, session_factory: sessionmaker, *, on_commit: Callable[[], None] | None = None
    ) -> None:
        self._session_factory = session_factory
        self._on_commit = on_commit
        self._wrote_events = False
        self._joined = 0  # > 0 inside together(): nested `with` and commit() join its transaction

    @contextmanager
    def together(self) -> Iterator[Self]:
        """One transaction for several handler calls on this unit of work, committed once when
        the block ends without error."""
        with self:
            self._joined = 1
            try:
                yield self
                self._joined = 0
                self.commit()
            finally:
                self._joined = 0

    def __enter__(self) -> Self:
        if self._joined:
            self._joined += 1
            return self
        self._turn = write_turn(self._session_factory.kw["bind"])
        self._turn.__enter__()
        try:
            self.session = self._session_factory()
            self._wrote_events = False
            self._open(self.session)
        except BaseException:
            self._turn.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._joined > 1:
            self._joined -= 1
            if exc is not None and not isinstance(exc, GroupAborted):
                raise GroupAborted(f"{type(exc).__name__}: {exc}") from exc
            return
        try:
            self.session.rollback()  # a no-op after commit
            self.session.close()
        finally:
            self._turn.__exit__(None, None, None)

    def _open(self, session: Session) -> None:
        """Attach repositories to ``session`` (subclasses override)."""

    def publish(self, envelope: Envelope) -> None:
        add_to_outbox(self.session, envelope)
        self._wrote_events = True

    def publish_all(self, envelopes: Sequence[Envelope]) -> None:
        """Many events at once (one multi-row INSERT), e.g. for a batch of new orders."""
        add_all_to_outbox(self.session, envelopes)
        self._wrote_events = self._wrote_events or bool(envelopes)

    def claim(self, consumer: str, envelope: Envelope) -> bool:
        return claim_in_inbox(self.session, consumer=consumer, envelope=envelope)

    def claim_all(self, consumer: str, envelopes: Sequence[Envelope]) -> list[bool]:
        """``claim`` for each envelope, with one statement."""
        return claim_all_in_inbox(self.session, consumer=consumer, envelopes=envelopes)

    def commit(self) -> None:
        if self._joined:
            self.session.flush()  # seen by the group's next handlers; committed with the group
            return
        self.session.commit()
        if self._wrote_events and self._on_commit is not None:
            self._on_commit()
        self._wrote_events = False

    def rollback(self) -> None:
        if self._joined:
            raise GroupAborted("a handler rolled back inside a group")
        self.session.rollback()
