"""SQLite relay lease: a holder whose process is gone on this host is taken over at once; a live
holder, or one on another host, keeps the lease until it lapses."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

from adapters.leases import SqliteLease, holder_is_gone
from hub.relay.relay import TRACKING_NAME
from tests.support.relay import ROOT
from tests.support.scheduling import make_app

HOLD = """
import sys, time
from adapters.leases import SqliteLease
from tests.support.scheduling import make_app
app = make_app(sys.argv[1])
lease = SqliteLease(app.recorder.datastore, sys.argv[2], ttl=300)
print("held" if lease.acquire() else "refused", lease.holder, flush=True)
time.sleep(float(sys.argv[3]))
"""


def hold(url: str, seconds: float) -> tuple[subprocess.Popen, str, str]:
    """Another process that tries to take the lease (for 300 s) and keeps running ``seconds``."""
    process = subprocess.Popen([sys.executable, "-c", HOLD, url, TRACKING_NAME, str(seconds)],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    outcome, holder = process.stdout.readline().split()
    return process, outcome, holder


def test_a_dead_holder_on_this_host_is_taken_over_at_once(sqlite_url: str) -> None:
    app = make_app(sqlite_url)
    try:
        lease = SqliteLease(app.recorder.datastore, TRACKING_NAME, ttl=300)
        process, outcome, holder = hold(sqlite_url, 60)
        assert outcome == "held"
        assert not lease.acquire() and lease.state().holder == holder  # alive: stand by
        process.send_signal(signal.SIGKILL)
        time.sleep(0.2)
        assert holder_is_gone(holder)  # killed, not yet reaped (a zombie) counts as gone
        started = time.monotonic()
        assert lease.acquire()  # long before the 300 s lease would lapse
        assert time.monotonic() - started < 5
        assert lease.state().holder == lease.holder
        process.wait()

        other, outcome, _ = hold(sqlite_url, 0)
        assert outcome == "refused"  # this process is alive: its lease is not taken over
        other.wait()
    finally:
        app.close()


def test_a_holder_on_another_host_keeps_the_lease_until_it_lapses(sqlite_url: str) -> None:
    app = make_app(sqlite_url)
    try:
        other = SqliteLease(app.recorder.datastore, TRACKING_NAME, ttl=1,
                            holder=f"not-{socket.gethostname()}:1:abcdef")
        assert other.acquire()
        lease = SqliteLease(app.recorder.datastore, TRACKING_NAME, ttl=30)
        assert not holder_is_gone(other.holder)
        assert not lease.acquire()
        time.sleep(1.2)
        assert lease.acquire()  # lapsed
    finally:
        app.close()
