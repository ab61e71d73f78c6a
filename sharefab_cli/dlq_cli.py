"""``sharefab dlq list|replay``: what the consumers dead-lettered, and sending it back.

A dead letter is the original message (key and bytes, untouched) on ``<topic>.dlq`` with the
error and where it came from in its headers. Its id is ``<dlq topic>:<partition>:<offset>``.
Replaying re-publishes the original bytes to the original topic (e.g. after a fix); the
consumers' inbox makes a replay of something already applied harmless, and a message that still
fails is dead-lettered again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.text import Text

from shared.events.topics import TOPICS, dlq_topic

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

dlq_app = typer.Typer(help="Dead-lettered events: list them, replay them to their topic.",
                      no_args_is_help=True)

Bootstrap = Annotated[str, typer.Option(envvar="KAFKA_BOOTSTRAP_SERVERS",
                                        help="broker address(es), comma-separated")]
TopicOption = Annotated[list[str] | None, typer.Option(
    "--topic", help="only the dead letters of this topic (repeat), e.g. orders.v1")]


@dataclass(frozen=True)
class DeadLetter:
    id: str
    source_topic: str
    key: bytes | None
    value: bytes | None
    error: str
    consumer_group: str
    source: str  # partition@offset on the source topic
    at: datetime

    @property
    def event_type(self) -> str:
        try:
            data = json.loads(self.value or b"")
            return f"{data['type']} v{data['version']}"
        except (ValueError, KeyError, TypeError):
            return "(unreadable)"


def read_dead_letters(bootstrap: list[str], topics: list[str],
                      timeout_s: float = 30.0) -> list[DeadLetter]:
    """Every record on the dead-letter topics of ``topics``, oldest first (no consumer group)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False, client_id="sharefab-dlq",
                             request_timeout_ms=10000)
    try:
        tps = [TopicPartition(dlq_topic(t), p) for t in topics
               for p in sorted(consumer.partitions_for_topic(dlq_topic(t)) or ())]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        records = []
        deadline = time.monotonic() + timeout_s
        caught_up = False
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=300)
            for part in batch.values():
                records.extend(part)
            if caught_up and not batch:
                break  # the end offsets seen plus what their last batches held
            caught_up = all(consumer.position(tp) >= ends[tp] for tp in tps)
        return sorted((_dead_letter(r) for r in records), key=lambda d: (d.at, d.id))
    finally:
        consumer.close()


def _dead_letter(record) -> DeadLetter:  # type: ignore[no-untyped-def]
    headers = {k: v.decode("utf-8", "replace") for k, v in (record.headers or [])}
    source_topic = headers.get("source_topic") or record.topic.removesuffix(".dlq")
    return DeadLetter(
        id=f"{record.topic}:{record.partition}:{record.offset}",
        source_topic=source_topic, key=record.key, value=record.value,
        error=headers.get("error", ""), consumer_group=headers.get("consumer_group", ""),
        source=f"{headers.get('source_partition', '?')}@{headers.get('source_offset', '?')}",
        at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
    )


def _topics(topic: list[str] | None) -> list[str]:
    chosen = [t.removesuffix(".dlq") for t in (topic or TOPICS)]
    unknown = [t for t in chosen if t not in TOPICS]
    if unknown:
        err.print(f"[red]unknown topic {escape(', '.join(unknown))}[/red]; choose from "
                  f"{', '.join(TOPICS)}")
        raise typer.Exit(2)
    return chosen


def _read(bootstrap: str, topics: list[str]) -> list[DeadLetter]:
    from shared.messaging.producer import broker_reachable

    if not broker_reachable(bootstrap.split(",")):
        err.print(f"[red]broker {escape(bootstrap)} not reachable[/red] "
                  "(set --bootstrap or KAFKA_BOOTSTRAP_SERVERS)")
        raise typer.Exit(1)
    try:
        return read_dead_letters(bootstrap.split(","), topics)
    except Exception as exc:
        err.print(f"[red]could not read the dead letters from {escape(bootstrap)}:[/red] "
                  f"{escape(str(exc) or type(exc).__name__)}")
        raise typer.Exit(1) from exc


@dlq_app.command("list")
def list_dead_letters(
    topic: TopicOption = None,
    bootstrap: Bootstrap = "127.0.0.1:19092",
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List dead-lettered events: id, when, source topic, type, consumer group and error."""
    letters = _read(bootstrap, _topics(topic))
    if json_out:
        for d in letters:
            typer.echo(json.dumps({"id": d.id, "at": d.at.isoformat(), "topic": d.source_topic,
                                   "source": d.source, "type": d.event_type,
                                   "consumer_group": d.consumer_group, "error": d.error,
                                   "value": (d.value or b"").decode("utf-8", "replace")}))
        return
    console.print(f"[bold]{len(letters)} dead letter(s)[/bold]")
    for d in letters:
        console.print(*letter_lines(d))


def letter_lines(d: DeadLetter) -> list[Text | Padding]:
    """One dead letter as a short block that any terminal width can show whole: the id (what
    `dlq replay` takes), the event and when it was dead-lettered, then where it came from and
    the error, indented, wrapped rather than cut."""
    head = Text.assemble((d.id, "bold"), f"  {d.event_type}  ",
                         d.at.strftime("%Y-%m-%d %H:%M:%S UTC"))
    body = Text(f"from {d.source_topic} {d.source}, consumer group {d.consumer_group or '?'}\n"
                f"error: {d.error[:500] or '(none recorded)'}")
    return [head, Padding(body, (0, 0, 0, 2))]


@dlq_app.command("replay")
def replay_dead_letters(
    letter_id: Annotated[str | None, typer.Argument(
        metavar="ID", help="a dead letter's id, as `sharefab dlq list` shows it")] = None,
    all_: Annotated[bool, typer.Option(
        "--all", help="every dead letter `dlq list` shows (with the same --topic)")] = False,
    topic: TopicOption = None,
    bootstrap: Bootstrap = "127.0.0.1:19092",
) -> None:
    """Re-publish dead letters' original bytes to their original topic."""
    if (letter_id is None) == (not all_):
        err.print("[red]give one dead letter ID, or --all[/red]")
        raise typer.Exit(2)
    letters = _read(bootstrap, _topics(topic))
    if letter_id is not None:
        letters = [d for d in letters if d.id == letter_id]
        if not letters:
            err.print(f"[red]no dead letter {escape(letter_id)!r}[/red] "
                      "(see `sharefab dlq list` for the ids)")
            raise typer.Exit(2)
    from kafka import KafkaProducer

    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all",
                                 client_id="sharefab-dlq-replay")
        try:
            futures = [producer.send(d.source_topic, key=d.key, value=d.value,
                                     headers=[("replayed_from", d.id.encode())])
                       for d in letters]
            for future in futures:
                future.get(timeout=30)
        finally:
            producer.close(timeout=5)
    except Exception as exc:
        err.print(f"[red]replay failed:[/red] {escape(str(exc) or type(exc).__name__)}")
        raise typer.Exit(1) from exc
    for d in letters:
        console.print(f"replayed {d.id} → {d.source_topic} ({escape(d.event_type)})")
    console.print(f"{len(letters)} dead letter(s) replayed")
