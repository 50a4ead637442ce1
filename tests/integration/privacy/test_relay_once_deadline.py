"""``hub relay --once`` returns when the broker stays down: exit 1, a clear message, the
position kept (nothing lost), within its deadline (SPEC T3)."""

from __future__ import annotations

import socket
import time

from tests.support.relay import relay_env, run_hub, status, write_bookings
from tests.support.scheduling import make_app


def test_relay_once_gives_up_when_the_broker_is_down(sqlite_url: str) -> None:
    app = make_app(sqlite_url)
    try:
        write_bookings(app, 2)
        head = app.head()
    finally:
        app.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"  # nothing listens there
    env = relay_env(sqlite_url, dead, "hub", HUB_RELAY_ONCE_DEADLINE_SECONDS="3")
    started = time.monotonic()
    done = run_hub(env, "relay", "--once", timeout=60)
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert f"the Kafka broker at {dead} did not answer within 3 s; nothing is lost" in done.stderr
    assert "Traceback" not in done.stderr
    assert elapsed < 30
    assert status(env)["lag"] == head  # every event still to publish
