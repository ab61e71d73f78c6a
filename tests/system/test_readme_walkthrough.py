"""README.md's walk-through, its shell block run as it is written (curl and jq), against the
broker and the three services as real processes: the commands a new user pastes must work."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.system, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
README_PORTS = {"orders": 8001, "capacity": 8002, "matcher": 8003}  # where `make run` serves them


def walkthrough_block() -> str:
    """The first ```bash block after the README's walk-through heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Walk-through"):]
    found = re.search(r"```bash\n(.*?)```", section, re.S)
    assert found, "README.md's walk-through has no bash block"
    return found[1]


def test_the_readme_walkthrough_runs_as_written(stack, tokens):  # type: ignore[no-untyped-def]
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} missing: `make install` installs them")
    script = walkthrough_block()
    for service, port in README_PORTS.items():  # the stack's ports instead of make run's
        script = script.replace(f"localhost:{port}",
                                stack.config.url(service).removeprefix("http://"))
    assert "localhost" not in script and stack.config.url("orders")[7:] in script
    script += '\necho\necho "ORDER=$O"\n'
    path = f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"
    try:
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=ROOT, text=True,
                              capture_output=True, timeout=60, env={**os.environ, "PATH": path})
    except subprocess.TimeoutExpired as exc:  # e.g. an order refused: no hold ever comes
        printed = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout
        pytest.fail(f"the walk-through did not finish within 60 s; it printed: {printed}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    printed, order_line = done.stdout.rstrip().rsplit("\n", 1)
    order_id = order_line.removeprefix("ORDER=")
    answers = json_objects(printed)  # what each curl printed, one after another
    # the order as the buyer read it before the supplier accepted (the orders service may not
    # have heard of the proposal yet), once allocated, and once the work was reported done
    before, allocated, done = [a["status"] for a in answers if a.get("id") == order_id]
    assert before in ("submitted", "matching") and (allocated, done) == ("allocated", "completed")
    assert answers[-1]["steps"][0]["allocation"]["factory_name"] == "Haigang Precision"
    assert answers[-1]["steps"][0]["status"] == "completed"
    started, completed = [a for a in answers if a.get("order_id") == order_id][-2:]
    assert (started["production"], completed["production"]) == ("started", "completed")
    order = httpx.get(f"{stack.config.url('orders')}/v1/orders/{order_id}",
                      headers={"Authorization": f"Bearer {tokens['BUY']}"}).json()
    assert order["status"] == "completed" and order["title"] == "Brackets"


def json_objects(text: str) -> list[dict[str, object]]:
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        found.append(value)
    return found
