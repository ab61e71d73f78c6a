"""The batch handler over the fake unit of work: items judged alone, valid ones stored together."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.orders.domain.commands import SubmitOrders
from services.orders.domain.errors import FieldError
from services.orders.domain.rules import OrderTerms
from services.orders.service_layer import batch
from services.orders.service_layer.handlers import IdempotencyConflict
from services.orders.service_layer.unit_of_work import IdempotencyRecord
from tests.orders.unit.fakes import NOW, FakeUnitOfWork, step, terms

SHAPE_ERROR = (FieldError("steps.0.hours", "Input should be greater than 0", "greater_than"),)


def command(*drafts: OrderTerms | tuple[FieldError, ...], key: str | None = None,
            fingerprint: str = "f1") -> SubmitOrders:
    return SubmitOrders(buyer_firm_id="b1", buyer_clusters=("qhd-auto", "tangshan"),
                        drafts=drafts, fingerprint=fingerprint, idempotency_key=key)


def test_valid_items_are_stored_and_invalid_ones_named() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    result = batch.submit_orders(command(
        terms(), SHAPE_ERROR, terms(due=NOW), terms(cluster_id="tangshan"),
        terms(step("a"), step("b", "a")),
    ), uow, now=NOW)
    assert (result.accepted, result.rejected, result.replayed) == (2, 3, False)
    assert [i.index for i in result.items] == [0, 1, 2, 3, 4]
    ok = [i.order_id for i in result.items if i.order_id]
    assert list(uow.orders.rows) == ok
    assert result.items[1].errors == SHAPE_ERROR
    assert [e.field for e in result.items[2].errors] == ["due"]
    assert [e.field for e in result.items[3].errors] == ["cluster_id"]
    # one commit, one cluster lookup, one bulk insert; events and timeline in item order
    assert (uow.commits, uow.clusters.lookups, uow.orders.bulk_calls) == (1, 1, 1)
    assert [e.payload["order_id"] for e in uow.published] == ok
    assert [e.type for e in uow.published] == ["order.submitted"] * 2
    assert [(t.order_id, t.type, t.event_id) for t in uow.timeline.entries] == [
        (o, "order.submitted", str(e.event_id)) for o, e in zip(ok, uow.published, strict=True)]


def test_nothing_is_written_when_no_item_is_valid() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    result = batch.submit_orders(command(SHAPE_ERROR, terms(due=NOW), key="k1"), uow, now=NOW)
    assert (result.accepted, result.rejected) == (0, 2)
    assert uow.commits == 0 and uow.orders.rows == {} and uow.published == []
    assert uow.idempotency.records == {}  # the key is not used up: nothing was made


def test_the_same_key_and_body_answer_the_first_result() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    first = batch.submit_orders(command(terms(), SHAPE_ERROR, key="k1"), uow, now=NOW)
    uow.clusters.names.clear()  # the answer is the first one, not a new judgement
    again = batch.submit_orders(command(terms(), SHAPE_ERROR, key="k1"), uow, now=NOW)
    assert again.replayed and replace(again, replayed=False) == first
    assert len(uow.orders.rows) == 1 and len(uow.published) == 1


def test_the_same_key_with_another_body_conflicts() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    batch.submit_orders(command(terms(), key="k1"), uow, now=NOW)
    with pytest.raises(IdempotencyConflict):
        batch.submit_orders(command(terms(), key="k1", fingerprint="f2"), uow, now=NOW)
    assert len(uow.orders.rows) == 1 and len(uow.published) == 1


def test_a_lost_race_on_the_key_answers_the_winners_result() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    winner = batch.submit_orders(command(terms(), key="k1"), uow, now=NOW)
    real_get = uow.idempotency.get
    calls: list[str] = []

    def miss_once(firm: str, key: str):  # type: ignore[no-untyped-def]
        calls.append(key)
        return None if len(calls) == 1 else real_get(firm, key)

    uow.idempotency.get = miss_once  # type: ignore[method-assign]
    again = batch.submit_orders(command(terms(), key="k1"), uow, now=NOW)
    assert again.replayed and again.items == winner.items
    assert len(uow.orders.rows) == 1 and len(uow.published) == 1


def test_a_key_of_a_single_order_does_not_answer_a_batch() -> None:
    uow = FakeUnitOfWork("qhd-auto")
    uow.idempotency.add(IdempotencyRecord("b1", "k1", "f1", "ord_x"))
    with pytest.raises(IdempotencyConflict):
        batch.submit_orders(command(terms(), key="k1"), uow, now=NOW)


def test_results_survive_their_json_round_trip() -> None:
    result = batch.BatchResult((batch.BatchItem(0, "ord_1"), batch.BatchItem(1, errors=(
        FieldError("steps.0.hours", "must be > 0", "greater_than"),))))
    assert batch.BatchResult.from_json(result.to_json()) == result


def test_body_fingerprints_ignore_key_order_but_not_values() -> None:
    a = [{"title": "x", "priority": 3}]
    assert batch.body_fingerprint(a) == batch.body_fingerprint([{"priority": 3, "title": "x"}])
    assert batch.body_fingerprint(a) != batch.body_fingerprint([{"title": "x", "priority": 4}])
