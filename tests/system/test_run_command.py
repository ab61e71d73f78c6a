"""`sharefab run` (what `make run` calls): starts everything, prints tokens, Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sharefab_cli.stack import SERVICES, free_port, port_open

pytestmark = [pytest.mark.system, pytest.mark.slow]

SHAREFAB = Path(sys.executable).parent / "sharefab"


def test_run_starts_broker_and_services_and_ctrl_c_stops_them(tmp_path):
    ports = {"broker": free_port(), **{s: free_port() for s in SERVICES}}
    env = os.environ.copy()
    env.update({f"SHAREFAB_{k.upper()}_PORT": str(v) for k, v in ports.items()})
    proc = subprocess.Popen(
        [str(SHAREFAB), "run", "--var-dir", str(tmp_path / "var")], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        output = "".join(lines)
        assert "Press Ctrl-C" in output, output[-3000:]
        assert "export OP=" in output and "export SUP=" in output and "export BUY=" in output
        for service in SERVICES:
            assert f"http://127.0.0.1:{ports[service]}" in output
            assert f"{service:>8} | " in output  # each service's log lines carry its name
            assert httpx.get(f"http://127.0.0.1:{ports[service]}/readyz").status_code == 200
            with sqlite3.connect(tmp_path / "var" / f"{service}.db") as db:
                assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
                assert db.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
        assert port_open(ports["broker"])
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground group
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest[-2000:]
    for name, port in ports.items():
        assert not port_open(port), f"{name} still listening on {port} after Ctrl-C"
