"""Bounded HL7 input (SPEC T3): size and segment caps and the sender are checked by a plain
split before any parsing; an oversized or slow-to-parse message costs nothing and writes nothing."""

from __future__ import annotations

import socket
import time

import pytest

import connectors.hl7v2.inbound as inbound
from connectors.hl7v2.er7 import MAX_MESSAGE_CHARS, bounded_header, header
from connectors.hl7v2.mllp import MllpServer, frame
from tests.support.emr_sim import read_ack
from tests.support.hl7 import EmrClinic
from tests.support.scheduling import future


def refused(hl7: EmrClinic, message: str) -> tuple[str, str, float]:
    head = hl7.app.head()
    started = time.monotonic()
    ack = read_ack(hl7.inbox.receive(message, "mllp"))
    elapsed = time.monotonic() - started
    assert hl7.app.head() == head, "a refused message wrote events"
    return ack.code, ack.error, elapsed


def no_parse(*args: object) -> None:
    raise AssertionError("the message was checked or read before its bounds and sender were checked")


def test_an_oversized_message_is_refused_at_once(hl7: EmrClinic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbound, "checked", no_parse)
    monkeypatch.setattr(inbound, "to_emr_message", no_parse)
    message = hl7.emr.siu("S12", "BIG1", future(48))
    padded = message + "\rNTE|1||" + "x" * 600_000  # the 600 KB message of the review (27-45 s of CPU then)
    code, error, elapsed = refused(hl7, padded)
    assert code == "AR" and f"larger than {MAX_MESSAGE_CHARS} characters" in error
    assert elapsed < 5.0  # no parse ran (above); a loaded CI machine still answers in milliseconds


@pytest.mark.parametrize("extra, reason", [
    ("\rNTE|1||x" * 400, "more than 200 segments"),
    ("\rNTE|1||" + "y" * 9000, "longer than 8192 characters"),
])
def test_too_many_or_too_long_segments_are_refused(hl7: EmrClinic, extra: str, reason: str) -> None:
    code, error, _ = refused(hl7, hl7.emr.siu("S12", "SEG1", future(48)) + extra)
    assert code == "AR" and reason in error


def test_an_unknown_sender_is_refused_before_any_parse(hl7: EmrClinic,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbound, "checked", no_parse)
    monkeypatch.setattr(inbound, "to_emr_message", no_parse)
    message = hl7.emr.siu("S12", "FL9", future(48)).replace("OMNIMED|CLIN01", "TOUBIB|AUTRE", 1)
    code, error, _ = refused(hl7, message)
    assert code == "AR" and "MSH-3=TOUBIB, MSH-4=AUTRE is not registered" in error


def test_the_plain_split_reads_msh_like_the_parser(hl7: EmrClinic) -> None:
    message = hl7.emr.siu("S13", "CTL77", future(48))
    assert bounded_header(message) == header(message)


def test_mllp_refuses_peers_outside_the_allowlist(hl7: EmrClinic) -> None:
    import asyncio
    import threading

    message = hl7.emr.siu("S12", "ML1", future(48))
    answers: dict[str, bytes] = {}

    async def exchange(allowed: str) -> None:
        server = MllpServer(lambda text: hl7.inbox.receive(text, "mllp"), "127.0.0.1", 0,
                            allowed_peers=allowed)
        _, port = await server.start()

        def client() -> None:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(frame(message))
                try:
                    answers[allowed] = sock.recv(65536)
                except OSError:
                    answers[allowed] = b""

        thread = threading.Thread(target=client)
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.05)
        await server.close()

    head = hl7.app.head()
    asyncio.run(exchange("10.0.0.0/8, 192.168.1.7"))
    assert answers["10.0.0.0/8, 192.168.1.7"] == b"" and hl7.app.head() == head
    asyncio.run(exchange("127.0.0.1"))
    assert b"MSA|AA" in answers["127.0.0.1"]
