"""Single submissions written together (``group_commit.submit_many``): each answered as
``submit_order`` answers it alone, in one transaction; a failed transaction keeps nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.orders.domain.commands import SubmitOrder
from services.orders.domain.errors import InvalidOrder
from services.orders.domain.model import Order
from services.orders.service_layer import handlers
from services.orders.service_layer.group_commit import submit_each, submit_many
from services.orders.service_layer.unit_of_work import DuplicateRecord
from tests.orders.unit.fakes import NOW, FakeUnitOfWork, step, submit, terms


def _cmd(key: str | None = None, firm: str = "b1", **changes) -> SubmitOrder:  # type: ignore[no-untyped-def]
    t = terms(step("cut", process="laser_cutting"), step("weld", "cut", process="welding"))
    return SubmitOrder(buyer_firm_id=firm, buyer_clusters=("qhd-auto",),
                       terms=replace(t, **changes), idempotency_key=key)


def _group() -> list[SubmitOrder]:
    return [_cmd("k1"), _cmd(cluster_id="nowhere"), _cmd("k1"), _cmd("k1", title="Other"),
            _cmd("k0"), _cmd(), _cmd("k1", firm="b2")]


def _shape(answer: object) -> object:
    if isinstance(answer, Exception):
        return type(answer).__name__
    order, replayed = answer  # type: ignore[misc]
    return (order.buyer_firm_id, order.terms.title, replayed)


def test_each_request_is_answered_as_alone_with_one_commit() -> None:
    together, alone = FakeUnitOfWork("qhd-auto"), FakeUnitOfWork("qhd-auto")
    earlier, _ = submit(together, key="k0")  # stored before the group
    submit(alone, key="k0")
    commits = together.commits
    answers = submit_many(_group(), together, now=NOW)
    one_by_one = submit_each(_group(), lambda: alone)
    assert [_shape(a) for a in answers] == [_shape(a) for a in one_by_one] == [
        ("b1", "Brackets", False), "InvalidOrder", ("b1", "Brackets", True),
        "IdempotencyConflict", ("b1", "Brackets", True), ("b1", "Brackets", False),
        ("b2", "Brackets", False)]
    assert together.commits == commits + 1
    first, second = answers[0], answers[2]
    assert second[0].id == first[0].id and answers[4][0].id == earlier.id  # type: ignore[index]
    assert len(together.orders.rows) == len(alone.orders.rows) == 4
    assert len(together.published) == len(alone.published) == 4
    assert len(together.timeline.entries) == len(alone.timeline.entries) == 4
    assert set(together.idempotency.records) == set(alone.idempotency.records) == {
        ("b1", "k0"), ("b1", "k1"), ("b2", "k1")}
    assert [e.field for e in answers[1].errors] == ["cluster_id"]  # type: ignore[union-attr]


def test_a_key_taken_meanwhile_fails_the_group_and_keeps_nothing() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    real_add = uow.idempotency.add

    def taken(record):  # type: ignore[no-untyped-def]
        if record.key == "k9":
            raise DuplicateRecord(record.key)
        real_add(record)

    uow.idempotency.add = taken  # type: ignore[method-assign]
    with pytest.raises(DuplicateRecord):
        submit_many([_cmd("k8"), _cmd("k9")], uow, now=NOW)
    assert uow.orders.rows == {} and uow.published == [] and uow.idempotency.records == {}


def test_a_group_of_only_refusals_commits_nothing() -> None:
    uow = FakeUnitOfWork()  # no cluster known
    answers = submit_many([_cmd("k1"), _cmd()], uow, now=NOW)
    assert all(isinstance(a, InvalidOrder) for a in answers) and uow.commits == 0
    assert uow.idempotency.records == {}


def test_submit_each_hands_each_error_to_its_own_request() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    answers = submit_each([_cmd("k1"), _cmd("k1", title="Other"), _cmd()], lambda: uow)
    assert isinstance(answers[0], tuple) and isinstance(answers[0][0], Order)
    assert isinstance(answers[1], handlers.IdempotencyConflict)
    assert isinstance(answers[2], tuple) and not answers[2][1]
