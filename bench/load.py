"""A small HTTP/1.1 load generator for the benchmark (wrk is not part of the project's install).

Two shapes of load:

* ``closed_loop`` — ``connections`` keep-alive connections, each sending its next request as
  soon as the previous answer arrived (wrk's model): the server's throughput under saturation.
* ``open_loop`` — requests started on a fixed schedule (``rate`` per second) whatever the
  answers take: a sustained arrival rate, as real buyers produce it.

The closed loop speaks HTTP/1.1 over asyncio streams with the request bytes built once, so that
one Python process can drive several thousand requests per second — httpx's client costs more
CPU per request than a small ASGI app does to answer it, which would make the hello-world
anchor measure the client instead of the server. Only what uvicorn answers is parsed: a status
line, headers with ``content-length``, a body.

The maths (``percentile``, ``summarise``, ``ratio``) is plain and unit-tested.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; None when there are none."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not between 0 and 100")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarise(latencies_s: Sequence[float]) -> dict[str, float | int | None]:
    """Count, mean and the p50/p95/p99/max of latencies, in seconds (rounded to 0.1 ms)."""

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 4)

    return {
        "count": len(latencies_s),
        "mean_s": r(sum(latencies_s) / len(latencies_s)) if latencies_s else None,
        "p50_s": r(percentile(latencies_s, 50)), "p95_s": r(percentile(latencies_s, 95)),
        "p99_s": r(percentile(latencies_s, 99)), "max_s": r(max(latencies_s, default=None)),
    }


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator rounded to 3 places; None when the denominator is not positive."""
    if denominator <= 0:
        return None
    return round(numerator / denominator, 3)


def across_runs(p99s_s: Sequence[float | None], *, target_s: float) -> dict[str, Any]:
    """The p99 of repeated runs of one setting, side by side: each run's, their median and how
    many met ``target_s`` (a run with no p99 — nothing proposed — counts as missing it)."""
    known = sorted(p for p in p99s_s if p is not None)
    middle = len(known) // 2
    median = None if not known else (known[middle] if len(known) % 2
                                      else round((known[middle - 1] + known[middle]) / 2, 4))
    return {"runs": len(p99s_s), "p99_s": list(p99s_s), "median_p99_s": median,
            "runs_within_target": sum(1 for p in p99s_s if p is not None and p <= target_s),
            "target_p99_s": target_s}


def per_second(times_s: Sequence[float], *, start: float, seconds: int) -> list[int]:
    """How many of ``times_s`` fall in each whole second after ``start`` (``seconds`` buckets;
    earlier or later times are ignored)."""
    counts = [0] * seconds
    for t in times_s:
        i = math.floor(t - start)
        if 0 <= i < seconds:
            counts[i] += 1
    return counts


@dataclass
class Target:
    """One request, sent again and again: ``POST /v1/orders`` with a token and a body."""

    host: str
    port: int
    method: str = "GET"
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def request_bytes(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 f"Content-Length: {len(self.body)}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass
class LoadResult:
    duration_s: float
    connections: int
    statuses: dict[int, int]
    latencies_s: list[float]
    finished_at: list[float]  # monotonic time each answer arrived
    errors: int = 0
    started_at: float = 0.0
    server_cpu_s: float | None = None  # CPU the measured server used meanwhile, when known
    server_cpu_by_thread_s: dict[str, float] | None = None  # the same, thread by thread
    # CPU every process on the machine that takes part used meanwhile (the server, the other
    # services, the broker, the load generator itself), when known
    cpu_by_process_s: dict[str, float] | None = None
    cpus: int | None = None  # the machine's cores, to say how many of them were busy

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    def report(self) -> dict[str, Any]:
        return {
            "duration_s": round(self.duration_s, 2), "connections": self.connections,
            "requests": self.requests, "ok": self.ok, "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "req_per_s": round(self.ok / self.duration_s, 1) if self.duration_s else 0.0,
            "latency": summarise(self.latencies_s),
        } | ({} if self.server_cpu_s is None else {
            "server_cpu_ms_per_answer": round(1000 * self.server_cpu_s / max(1, self.requests), 3),
            "server_cpu_share_of_a_core": round(self.server_cpu_s / self.duration_s, 2)
            if self.duration_s else 0.0}) | ({} if self.server_cpu_by_thread_s is None else {
            "server_cpu_ms_per_answer_by_thread": {
                name: round(1000 * used / max(1, self.requests), 3)
                for name, used in self.server_cpu_by_thread_s.items()}}) | (
            {} if self.cpu_by_process_s is None else self._machine())

    def _machine(self) -> dict[str, Any]:
        """Where the machine's cores went: each process's CPU per answer, and how many cores
        were busy in all (of ``cpus``); a sum near ``cpus`` means the machine, not one
        process, set the rate."""
        by_process = self.cpu_by_process_s or {}
        busy = sum(by_process.values()) / self.duration_s if self.duration_s else 0.0
        return {
            "cpu_ms_per_answer_by_process": {
                name: round(1000 * used / max(1, self.requests), 3)
                for name, used in sorted(by_process.items(), key=lambda kv: -kv[1])},
            "cores_busy": round(busy, 2), "cores": self.cpus,
        }


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length is None:
        raise RuntimeError(f"answer without content-length: {lines[0]}")
    body = await reader.readexactly(length) if length else b""
    return status, body


async def closed_loop(targets: Sequence[Target], *, connections: int,
                      duration_s: float) -> LoadResult:
    """Every connection sends, waits for the answer, and sends again until the time is up;
    connection ``i`` sends ``targets[i % len(targets)]`` (e.g. one buyer per connection)."""
    payloads = [t.request_bytes() for t in targets]
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    finished: list[float] = []
    errors = 0
    start = time.monotonic()
    deadline = start + duration_s

    async def connection(i: int) -> None:
        nonlocal errors
        target, payload = targets[i % len(targets)], payloads[i % len(targets)]
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection(target.host, target.port)
            except OSError:
                errors += 1
                await asyncio.sleep(0.05)
                continue
            try:
                while (sent := time.monotonic()) < deadline:
                    writer.write(payload)
                    status, _ = await _read_response(reader)
                    done = time.monotonic()
                    statuses[status] = statuses.get(status, 0) + 1
                    latencies.append(done - sent)
                    finished.append(done)
            except (OSError, asyncio.IncompleteReadError, RuntimeError, ValueError):
                errors += 1
            finally:
                writer.close()

    await asyncio.gather(*(connection(i) for i in range(connections)))
    return LoadResult(duration_s=time.monotonic() - start, connections=connections,
                      statuses=statuses, latencies_s=latencies, finished_at=finished,
                      errors=errors, started_at=start)


class ConnectionPool:
    """Keep-alive HTTP/1.1 connections to one server for the open loop, shared by concurrent
    requests: at most ``size`` open, the most recently used reused first. A request that finds
    its reused connection closed by the server (idle timeout) is sent once more on a new one,
    so only send requests that may be repeated (e.g. with an Idempotency-Key)."""

    def __init__(self, host: str, port: int, *, size: int = 64) -> None:
        self.host, self.port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(size)

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes = b"") -> tuple[int, bytes]:
        payload = Target(self.host, self.port, method, path, headers, body).request_bytes()
        async with self._slots:
            if self._idle:
                try:
                    return await self._exchange(self._idle.pop(), payload)
                except (OSError, asyncio.IncompleteReadError):
                    pass  # closed by the server meanwhile: once more, on a new connection
            return await self._exchange(
                await asyncio.open_connection(self.host, self.port), payload)

    async def _exchange(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                        payload: bytes) -> tuple[int, bytes]:
        reader, writer = conn
        try:
            writer.write(payload)
            answer = await _read_response(reader)
        except BaseException:
            writer.close()
            raise
        self._idle.append(conn)
        return answer

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


async def open_loop(send: Callable[[int], Awaitable[None]], *, rate: float,
                    duration_s: float) -> float:
    """Start ``send(i)`` at ``start + i / rate`` for every i below ``rate * duration_s``, each
    in its own task (a slow answer never delays the next arrival); answers the start time."""
    total = int(rate * duration_s)
    start = time.monotonic()
    tasks = []
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i)))
    await asyncio.gather(*tasks)
    return start
