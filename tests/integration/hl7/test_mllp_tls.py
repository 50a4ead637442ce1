"""MLLP over TLS (#17, SPEC T3): the listener speaks TLS from the settings' certificate; with a
client CA only EMRs presenting a certificate it signed (and, when listed, with an allowed name)
may send. Every refused peer (no certificate, another CA, a name not listed, plain TCP) gets
its connection closed and nothing is ingested. Certificates are made in the test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.hl7v2.mllp import (
    MllpClient,
    MllpError,
    MllpServer,
    TlsConfigError,
    frame,
    tls_server_context,
)
from tests.support.emr_sim import ServerThread, read_ack
from tests.support.hl7 import EmrClinic, emr_clinic
from tests.support.scheduling import future, make_app
from tests.support.tls import Authority, Pem, client_context

ROOT = Path(__file__).resolve().parents[3]
EMR_NAME = "mllp.omnimed.test"


class Pki:
    def __init__(self, folder: Path) -> None:
        self.ca = Authority(folder)
        self.server = self.ca.issue("server", "hub-mllp", server=True)
        self.emr = self.ca.issue("emr", EMR_NAME, server=False)
        self.other_emr = self.ca.issue("other", "mllp.kinlogix.test", server=False)
        rogue = Authority(folder, "Rogue CA")
        self.rogue = rogue.issue("rogue", EMR_NAME, server=False)  # right name, wrong CA

    def client(self, port: int, certificate: Pem | None) -> MllpClient:
        return MllpClient("127.0.0.1", port, timeout=10,
                          tls=client_context(self.ca.pem, certificate))


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


def _plain_exchange(port: int, message: str) -> bytes:
    """A client that does not speak TLS: its framed message is answered by nothing."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(frame(message))
        try:
            return sock.recv(65536)
        except OSError:
            return b""


def test_mutual_tls_lets_only_the_listed_emr_send(hl7: EmrClinic, pki: Pki) -> None:
    context = tls_server_context(str(pki.server.cert), str(pki.server.key), str(pki.ca.pem))
    server = ServerThread(lambda text: hl7.inbox.receive(text, "mllp"), tls=context,
                          allowed_client_names=EMR_NAME, allowed_peers="127.0.0.1")
    try:
        head = hl7.app.head()
        refused = {
            "no client certificate": pki.client(server.port, None),
            "a certificate of another CA": pki.client(server.port, pki.rogue),
            "a certificate whose name is not listed": pki.client(server.port, pki.other_emr),
        }
        for why, client in refused.items():
            with client, pytest.raises(MllpError):
                client.send(hl7.emr.siu("S12", "TLSNO1", future(48)))
            assert hl7.app.head() == head, f"{why}: the message was ingested"
        assert _plain_exchange(server.port, hl7.emr.siu("S12", "TLSNO2", future(48))) == b""
        assert hl7.app.head() == head, "plain TCP: the message was ingested"

        with pki.client(server.port, pki.emr) as client:
            ack = read_ack(client.send(hl7.emr.siu("S12", "TLSOK1", future(48))))
            again = read_ack(client.send(hl7.emr.siu("S12", "TLSOK2", future(50))))
        assert ack.code == "AA" and again.code == "AA", (ack.error, again.error)
        assert hl7.app.head() > head
    finally:
        server.stop()


def test_tls_without_client_ca_encrypts_and_refuses_plain_tcp(hl7: EmrClinic, pki: Pki) -> None:
    context = tls_server_context(str(pki.server.cert), str(pki.server.key))
    server = ServerThread(lambda text: hl7.inbox.receive(text, "mllp"), tls=context)
    try:
        head = hl7.app.head()
        assert _plain_exchange(server.port, hl7.emr.siu("S12", "TLS1W1", future(48))) == b""
        assert hl7.app.head() == head
        with pki.client(server.port, None) as client:  # server authenticated, client not asked
            assert read_ack(client.send(hl7.emr.siu("S12", "TLS1W2", future(48)))).code == "AA"
        # a client that does not trust the hub's CA does not send at all
        untrusting = MllpClient("127.0.0.1", server.port, timeout=10,
                                tls=client_context(Authority(pki.ca.folder, "Other CA").pem))
        with untrusting, pytest.raises(MllpError):
            untrusting.send(hl7.emr.siu("S12", "TLS1W3", future(48)))
    finally:
        server.stop()


def test_incomplete_or_unusable_tls_settings_are_refused(pki: Pki, tmp_path: Path) -> None:
    assert tls_server_context("", "") is None
    broken = tmp_path / "broken.pem"
    broken.write_text("not a certificate")
    for cert, key, ca, says in (
        (str(pki.server.cert), "", "", "set both"),
        ("", "", str(pki.ca.pem), "needs HUB_MLLP_TLS_CERT"),
        (str(tmp_path / "missing.crt"), str(pki.server.key), "", "no readable file"),
        (str(broken), str(pki.server.key), "", "unusable"),
        (str(pki.server.cert), str(pki.emr.key), "", "unusable"),  # key of another certificate
    ):
        with pytest.raises(TlsConfigError, match=says):
            tls_server_context(cert, key, ca)
    with pytest.raises(TlsConfigError, match="needs mutual TLS"):
        MllpServer(lambda text: text, tls=tls_server_context(str(pki.server.cert),
                                                             str(pki.server.key)),
                   allowed_client_names=EMR_NAME)


def _listener(url: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "entrypoints", "mllp", "--port", "0"], cwd=ROOT,
        env={**os.environ, "HUB_DATABASE_URL": url, "HUB_LOG_FORMAT": "json", **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_hub_mllp_serves_tls_from_its_settings(sqlite_url: str, pki: Pki) -> None:
    app = make_app(sqlite_url)
    hl7 = emr_clinic(app)
    tls = {"HUB_MLLP_TLS_CERT": str(pki.server.cert), "HUB_MLLP_TLS_KEY": str(pki.server.key),
           "HUB_MLLP_TLS_CLIENT_CA": str(pki.ca.pem), "HUB_MLLP_TLS_ALLOWED_CLIENTS": EMR_NAME}
    proc = _listener(sqlite_url, tls)
    try:
        line = proc.stdout.readline()
        assert "listening over TLS on" in line, proc.stderr.read() if proc.poll() is not None else line
        port = int(line.rsplit(":", 1)[1])
        head = app.head()
        with pki.client(port, None) as anonymous, pytest.raises(MllpError):
            anonymous.send(hl7.emr.siu("S12", "CLITLS0", future(48)))
        assert app.head() == head
        with pki.client(port, pki.emr) as client:
            assert read_ack(client.send(hl7.emr.siu("S12", "CLITLS1", future(48)))).code == "AA"
    finally:
        proc.terminate()
        proc.wait(10)
        app.close()
    bad = _listener(sqlite_url, {"HUB_MLLP_TLS_CERT": str(pki.server.cert)})
    _, err = bad.communicate(timeout=60)
    assert bad.returncode == 1 and "HUB_MLLP_TLS_KEY" in err and "Traceback" not in err
