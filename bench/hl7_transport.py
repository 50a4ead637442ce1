"""What the HL7 transports cost per message alone, without the message: the MLLP listener and
``POST /v1/hl7`` answering a constant ACK, one client process waiting for each answer.

    python -m bench.hl7_transport [--messages 5000] [--pg URL] [--httpx]

MLLP: an ``MllpServer`` in this process with a handler returning a constant ACK. HTTP: the real
API (``create_app`` on a fresh PostgreSQL schema, the EMR token remembered as in ``hub serve``)
under uvicorn in this process, its ``Hl7Inbox`` replaced by one returning the same ACK. The
client runs in another process (``--httpx``: httpx instead of the bench's keep-alive socket).
Prints the server's CPU (this process: user + system) and the client's, per message, and the
rate. End-to-end figures are ``bench.siu_ingest``'s; this one isolates what the transports and
the framework add, which that bench's run-to-run noise hides on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import threading
import time
import uuid

import uvicorn

from adapters.sqlaccessstore import access_store_for
from bench.http_booking import drop_schema, fresh_schema
from connectors.hl7v2.mllp import MllpServer
from entrypoints.api.app import create_app
from hub.access.tokens import issue
from hub.settings import Settings
from tests.support.scheduling import free_port, make_app

DEFAULT_PG = os.environ.get("HUB_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
ACK = "MSH|^~\\&|HUB|HUB|OMNIMED|CLIN01|20261130090000+0000||ACK^S12^ACK|1|P|2.5.1\rMSA|AA|M1|booked"
MESSAGE = ("MSH|^~\\&|OMNIMED|CLIN01|HUB|HUB|20261130090000||SIU^S12^SIU_S12|M1|P|2.5.1\r"
           + "\r".join(f"NTE|{n}|L|{'x' * 80}" for n in range(12)))
CLIENT = """
import sys, time
kind, port, count, token, use_httpx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
message = sys.stdin.readline().rstrip("\\n").replace("\\\\r", "\\r")
if kind == "mllp":
    from connectors.hl7v2.mllp import MllpClient
    send = MllpClient("127.0.0.1", port, timeout=30).send
elif use_httpx:
    import httpx
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"})
    send = lambda text: client.post("/v1/hl7", content=text.encode()).text
else:
    from bench.siu_ingest import KeepAlive
    send = KeepAlive(port, "/v1/hl7", {"Authorization": f"Bearer {token}",
                                       "Content-Type": "text/plain"}).post
for _ in range(300):
    assert "MSA|AA" in send(message)
print("ready", flush=True)
sys.stdin.readline()
began, cpu = time.perf_counter(), time.process_time()
for _ in range(count):
    send(message)
print(count / (time.perf_counter() - began), (time.process_time() - cpu) / count * 1e6, flush=True)
"""


class ConstantInbox:
    """In place of ``Hl7Inbox``: the same ACK for every message."""

    def __init__(self, app: object) -> None:
        self.app = app

    def receive(self, text: str, channel: str = "mllp", may_act_for: object = None) -> str:
        return ACK


def drive(kind: str, port: int, count: int, token: str = "", use_httpx: bool = False
          ) -> tuple[float, float, float]:
    """(rate, server CPU µs per message, client CPU µs per message)."""
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, kind, str(port), str(count), token or "-",
         "1" if use_httpx else "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert client.stdin is not None and client.stdout is not None  # noqa: S101 - piped above
    client.stdin.write(MESSAGE.replace("\r", "\\r") + "\n")
    client.stdin.flush()
    if client.stdout.readline().strip() != "ready":
        client.kill()
        sys.exit(f"the {kind} client did not start")
    before = resource.getrusage(resource.RUSAGE_SELF)
    client.stdin.write("\n")
    client.stdin.flush()
    rate, client_cpu = map(float, client.stdout.readline().split())
    after = resource.getrusage(resource.RUSAGE_SELF)
    client.wait(30)
    server_cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / count * 1e6
    return rate, server_cpu, client_cpu


async def mllp(count: int) -> tuple[float, float, float]:
    server = MllpServer(lambda text: ACK, "127.0.0.1", 0)
    _, port = await server.start()
    try:
        return await asyncio.to_thread(drive, "mllp", port, count)
    finally:
        await server.close()


def http(url: str, count: int, use_httpx: bool) -> tuple[float, float, float]:
    schema, schema_url = fresh_schema(url)
    scheduling = make_app(schema_url)
    try:
        _, token = issue(access_store_for(scheduling.recorder), "emr", [uuid.uuid4()])
        os.environ["HUB_PROJECTIONS_IN_SERVER"] = "false"  # the framework alone
        app = create_app(scheduling, Settings())
        server = uvicorn.Server(uvicorn.Config(app, port=free_port(), log_level="warning",
                                               access_log=False, lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        app.state.hl7_inbox = ConstantInbox(scheduling)
        try:
            return drive("http", server.config.port, count, token, use_httpx)
        finally:
            server.should_exit = True
            thread.join(10)
    finally:
        scheduling.close()
        drop_schema(url, schema)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL (HTTP's tokens)")
    parser.add_argument("--httpx", action="store_true", help="the HTTP client is httpx")
    args = parser.parse_args()
    rows = [("MLLP (MllpServer)", *asyncio.run(mllp(args.messages))),
            ("HTTP POST /v1/hl7" + (" (httpx client)" if args.httpx else ""),
             *http(args.pg, args.messages, args.httpx))]
    print(f"constant ACK, one client waiting for each answer, {args.messages} messages; "
          f"load {os.getloadavg()[0]:.1f}")
    print("| transport | msg/s | server CPU µs/msg | client CPU µs/msg |")
    print("| --- | ---: | ---: | ---: |")
    for name, rate, server_cpu, client_cpu in rows:
        print(f"| {name} | {rate:,.0f} | {server_cpu:.0f} | {client_cpu:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
