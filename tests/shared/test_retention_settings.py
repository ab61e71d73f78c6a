"""Retention settings: the inbox must keep a claim at least as long as the outbox keeps the
event it claims, or a replay would apply old events again."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import ServiceSettings


def test_the_defaults_keep_inbox_claims_longer_than_outbox_rows() -> None:
    settings = ServiceSettings()
    assert settings.inbox_retention_days >= settings.outbox_retention_days > 0


@pytest.mark.parametrize(("outbox_days", "inbox_days"), [(14, 14), (14, 60), (0, 0), (7, 0)])
def test_an_inbox_retention_at_least_the_outboxs_or_zero_is_accepted(
        outbox_days: float, inbox_days: float) -> None:
    ServiceSettings(outbox_retention_days=outbox_days, inbox_retention_days=inbox_days)


@pytest.mark.parametrize(("outbox_days", "inbox_days"), [(14, 7), (0, 30)])
def test_an_inbox_retention_shorter_than_the_outboxs_is_refused(
        outbox_days: float, inbox_days: float) -> None:
    with pytest.raises(ValidationError, match="INBOX_RETENTION_DAYS"):
        ServiceSettings(outbox_retention_days=outbox_days, inbox_retention_days=inbox_days)


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(outbox_retention_days=-1)
