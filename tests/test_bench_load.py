"""The load generator's arithmetic (bench/load.py): percentiles, ratio, per-second counts."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from load import (  # noqa: E402
    LoadResult,
    Target,
    across_runs,
    per_second,
    percentile,
    ratio,
    summarise,
)
from threads import ENDED, ThreadCpu, by_thread  # noqa: E402


def test_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]  # 1 … 100
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile(values, 0) == 1.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # unsorted input
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0  # rank ceil(0.5 * 4) = 2
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_of_latencies():
    s = summarise([0.1, 0.2, 0.3, 0.4, 10.0])
    assert s == {"count": 5, "mean_s": 2.2, "p50_s": 0.3, "p95_s": 10.0, "p99_s": 10.0,
                 "max_s": 10.0}
    assert summarise([])["p99_s"] is None and summarise([])["count"] == 0


def test_ratio():
    assert ratio(500.0, 1000.0) == 0.5
    assert ratio(1.0, 3.0) == 0.333
    assert ratio(5.0, 0.0) is None


def test_per_second_buckets():
    assert per_second([10.1, 10.9, 11.0, 12.5, 9.9, 13.0], start=10.0, seconds=3) == [2, 1, 1]


def test_requests_per_second_count_only_successes():
    result = LoadResult(duration_s=2.0, connections=1, statuses={201: 10, 429: 4},
                        latencies_s=[0.1] * 14, finished_at=[])
    report = result.report()
    assert (report["requests"], report["ok"], report["req_per_s"]) == (14, 10, 5.0)
    assert "server_cpu_ms_per_answer" not in report  # not measured


def test_server_cpu_is_reported_per_answer_and_as_a_share_of_a_core():
    result = LoadResult(duration_s=2.0, connections=1, statuses={201: 3000, 422: 1000},
                        latencies_s=[0.1] * 4000, finished_at=[], server_cpu_s=1.5)
    report = result.report()
    assert report["server_cpu_ms_per_answer"] == 0.375  # every answer cost the server CPU
    assert report["server_cpu_share_of_a_core"] == 0.75


def test_server_cpu_by_thread_is_reported_per_answer():
    result = LoadResult(duration_s=2.0, connections=1, statuses={201: 4000},
                        latencies_s=[0.1] * 4000, finished_at=[], server_cpu_s=1.5,
                        server_cpu_by_thread_s={"MainThread": 1.0, "AnyIO worker thread": 0.5})
    assert result.report()["server_cpu_ms_per_answer_by_thread"] == {
        "MainThread": 0.25, "AnyIO worker thread": 0.125}


def test_cpu_by_process_says_where_the_machine_went_and_how_many_cores_were_busy():
    result = LoadResult(duration_s=10.0, connections=32, statuses={201: 10_000},
                        latencies_s=[0.1] * 10_000, finished_at=[], server_cpu_s=9.0,
                        cpu_by_process_s={"orders": 9.0, "load generator": 4.0,
                                          "matcher": 6.5, "broker": 0.5}, cpus=2)
    report = result.report()
    assert report["cpu_ms_per_answer_by_process"] == {
        "orders": 0.9, "matcher": 0.65, "load generator": 0.4, "broker": 0.05}
    assert list(report["cpu_ms_per_answer_by_process"]) == [
        "orders", "matcher", "load generator", "broker"]  # busiest first
    assert (report["cores_busy"], report["cores"]) == (2.0, 2)  # 20 CPU-seconds in 10 s
    assert "cores_busy" not in LoadResult(
        duration_s=1.0, connections=1, statuses={}, latencies_s=[], finished_at=[]).report()


def test_cpu_by_thread_adds_up_a_pool_names_strangers_and_counts_ended_threads():
    before = {1: 100, 2: 50, 3: 10, 4: 7}
    after = {1: 300, 2: 90, 3: 40, 4: 7, 5: 20}  # 5 started meanwhile, another came and went
    used = by_thread(before=before, after=after, process_before=1000, process_after=1300,
                     names={1: "MainThread", 2: "AnyIO worker thread",
                            3: "AnyIO worker thread", 4: "retention"}, tick_s=0.01)
    assert list(used) == ["MainThread", "AnyIO worker thread", "thread 5", ENDED]  # busiest first
    assert used == pytest.approx({"MainThread": 2.0, "AnyIO worker thread": 0.7,
                                  "thread 5": 0.2, ENDED: 0.1})  # "retention" was idle


def test_cpu_by_thread_of_a_running_process_names_its_threads():
    spinner = ("import threading, time\n"
               "def spin():\n"
               "    while True: pass\n"
               "threading.Thread(target=spin, name='bench-spinner', daemon=True).start()\n"
               "print('up', flush=True)\n"
               "time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", spinner], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"up\n"
        reading = ThreadCpu(child.pid).start()
        time.sleep(0.5)
        used = reading.used()
    finally:
        child.kill()
        child.wait()
    assert used["bench-spinner"] >= 0.1 and used.get("MainThread", 0.0) < 0.1


def test_request_bytes_are_a_complete_http_request():
    raw = Target("127.0.0.1", 8001, "POST", "/v1/orders", {"X-A": "1"}, b'{"a": 1}'
                 ).request_bytes()
    head, body = raw.split(b"\r\n\r\n")
    assert head.startswith(b"POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1:8001\r\n")
    assert b"Content-Length: 8" in head and b"X-A: 1" in head and body == b'{"a": 1}'


def test_the_pool_reuses_connections_and_resends_once_on_one_the_server_closed():
    import asyncio

    from load import ConnectionPool

    async def scenario() -> tuple[list[tuple[int, bytes]], int, int]:
        accepted = 0
        requests = 0

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal accepted, requests
            accepted += 1
            while True:
                try:
                    await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    break
                requests += 1
                body = f"answer {requests}".encode()
                writer.write(b"HTTP/1.1 201 Created\r\ncontent-length: %d\r\n\r\n" % len(body)
                             + body)
                await writer.drain()
                if requests == 2:  # the server drops this connection after its answer
                    break
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = ConnectionPool("127.0.0.1", port, size=4)
        answers = [await pool.request("POST", "/x", {}, b"") for _ in range(3)]
        pool.close()
        server.close()
        await server.wait_closed()
        return answers, accepted, requests

    answers, accepted, requests = asyncio.run(scenario())
    assert answers == [(201, b"answer 1"), (201, b"answer 2"), (201, b"answer 3")]
    assert (accepted, requests) == (2, 3)  # the third went once more, on a new connection


def test_every_report_says_how_busy_and_how_fast_the_machine_was(tmp_path):
    import json

    from report import python_loop_s, write_report

    path = write_report("x", {"a": 1}, path=tmp_path / "x.json")
    written = json.loads(path.read_text())
    assert written["a"] == 1 and len(written["load_average_1_5_15_min"]) == 3
    assert written["python_loop_s"] > 0
    assert python_loop_s(iterations=10, repeats=1) < python_loop_s(iterations=2_000_000)


def test_p99_across_repeated_runs():
    odd = across_runs([2.99, 1.68, 1.5], target_s=2.0)
    assert odd == {"runs": 3, "p99_s": [2.99, 1.68, 1.5], "median_p99_s": 1.68,
                   "runs_within_target": 2, "target_p99_s": 2.0}
    even = across_runs([2.26, 1.98, 2.99, 1.5], target_s=2.0)
    assert even["median_p99_s"] == 2.12 and even["runs_within_target"] == 2
    assert across_runs([2.0], target_s=2.0)["runs_within_target"] == 1  # at the target meets it
    missing = across_runs([None, 3.0], target_s=2.0)
    assert missing["median_p99_s"] == 3.0 and missing["runs_within_target"] == 0
    assert across_runs([], target_s=2.0)["median_p99_s"] is None


def test_latency_buckets_count_every_answer_not_only_proposals():
    from datetime import UTC, datetime, timedelta

    from latency import buckets

    start = datetime(2026, 12, 5, tzinfo=UTC)

    def order(sent_s: float, proposed_s: float | None, answered_s: float | None) -> dict:
        return {"sent_at": start + timedelta(seconds=sent_s),
                "proposed_at": None if proposed_s is None else start + timedelta(
                    seconds=sent_s + proposed_s),
                "latency_s": proposed_s, "outcome_s": answered_s}

    sent = [order(0.5, 0.4, 0.4),      # proposed in the first bucket
            order(1.0, None, 0.5),     # unplaced: answered, never proposed
            order(1.5, 1.0, 1.0),      # proposed in the second bucket
            order(1.8, None, None)]    # no answer at all (lost)
    first, second = buckets(sent, start=start, width_s=2.0, count=2)
    assert (first["sent_per_s"], first["proposed_per_s"], first["answered_per_s"]) == (
        2.0, 0.5, 1.0)
    assert (second["sent_per_s"], second["proposed_per_s"], second["answered_per_s"]) == (
        0.0, 0.5, 0.5)
