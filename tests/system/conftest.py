"""The whole system as real processes: Tansu broker + orders, capacity, matcher on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.settings import DEFAULT_JWT_SECRET
from sharefab_cli.main import demo_tokens
from sharefab_cli.stack import SERVICES, LocalStack, StackConfig, free_port
from sharefab_cli.walkthrough import Endpoints


def running_stack(tmp_path_factory, **env: str) -> Iterator[LocalStack]:  # type: ignore[no-untyped-def]
    """Broker and services on free ports with ``env`` settings; stopped afterwards."""
    logs: list[str] = []
    config = StackConfig(
        broker_port=free_port(),
        ports={s: free_port() for s in SERVICES},
        var_dir=tmp_path_factory.mktemp("var"),
        env={"MATCHER_BATCH_INTERVAL_S": "0.5", "LOG_LEVEL": "INFO", **env},
    )
    stack = LocalStack(config, sink=lambda name, line: logs.append(f"{name:>8} | {line}"))
    stack.logs = logs  # type: ignore[attr-defined]
    try:
        stack.start()
        yield stack
    except Exception:
        print("\n".join(logs[-200:]))
        raise
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):  # type: ignore[no-untyped-def]
    yield from running_stack(tmp_path_factory)


@pytest.fixture(scope="module")
def endpoints(stack) -> Endpoints:  # type: ignore[no-untyped-def]
    return Endpoints(**{s: stack.config.url(s) for s in SERVICES})


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    return demo_tokens(DEFAULT_JWT_SECRET)


# What a failed test found out about the system's state (``request.node.stash[DIAGNOSIS]``):
# shown after the logs, at the very end of the report, where a CI excerpt still shows it.
DIAGNOSIS = pytest.StashKey[str]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """On a failed system test, show the services' last log lines (and any diagnosis)."""
    outcome = yield
    report = outcome.get_result()
    stack = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and stack is not None:
        report.sections.append(("service logs", "\n".join(stack.logs[-150:])))
    if report.failed and DIAGNOSIS in item.stash:
        report.sections.append(("diagnosis", item.stash[DIAGNOSIS]))
