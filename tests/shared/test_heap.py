"""A started service freezes its startup heap out of the collector's full passes, once per
process, unless ``GC_FREEZE`` is off."""

from __future__ import annotations

import gc

import pytest
from fastapi.testclient import TestClient

import shared.heap
import shared.service
from services.matcher.bootstrap import create_app
from tests.matcher.integration.conftest import settings_for


def test_the_first_call_freezes_what_the_process_holds_and_later_calls_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared.heap, "_frozen", False)
    kept = [["made before"]]  # lists are tracked by the collector
    count = shared.heap.freeze_startup_heap()
    assert count is not None and count == gc.get_freeze_count() > 0
    # frozen: out of every generation the collector scans
    assert gc.is_tracked(kept[0]) and not any(o is kept[0] for o in gc.get_objects())
    later = [["made after"]]
    assert shared.heap.freeze_startup_heap() is None  # once per process
    assert gc.get_freeze_count() == count
    assert any(o is later[0] for o in gc.get_objects())


@pytest.mark.integration
@pytest.mark.parametrize("freeze", [True, False])
def test_a_service_freezes_its_heap_once_started_unless_told_not_to(
        freeze: bool, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    calls: list[int] = []
    monkeypatch.setattr(shared.service, "freeze_startup_heap", lambda: calls.append(1))
    settings = settings_for(f"sqlite:///{tmp_path / 'm.db'}", gc_freeze=freeze)
    app = create_app(settings)
    assert calls == []
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert calls == ([1] if freeze else [])
