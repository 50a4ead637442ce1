"""README's one command: ``hub demo --serve`` builds the day, prints the console's address and
an admin token, and serves the console (a subprocess, as a user runs it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.scheduling import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_hub_demo_serve_opens_the_console(sqlite_url: str) -> None:
    port = free_port()
    env = {**os.environ, "HUB_DATABASE_URL": sqlite_url, "HUB_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([sys.executable, "-m", "entrypoints", "demo", "--seed", "3", "--serve",
                               "--port", str(port)], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert server.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while not (lines and lines[-1].startswith("hub_")):
            line = server.stdout.readline()
            assert line or server.poll() is None, "hub demo --serve stopped:\n" + "".join(lines)
            assert time.monotonic() < deadline, "no token printed within 120 s"
            lines.append(line.strip())
        url = next(x for x in lines if x.startswith("Console: ")).removeprefix("Console: ")
        token = lines[-1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while True:
                try:
                    login = client.get("/console/login")
                    break
                except httpx.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline
                    time.sleep(0.2)
            assert login.status_code == 200 and "Connexion" in login.text
            csrf = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)
            signed = client.post("/console/login", data={"csrf": csrf, "token": token,
                                                          "next": url.split(str(port), 1)[1]})
            assert signed.status_code == 303
            page = client.get(signed.headers["location"])
            while page.text.count('<tr id="row-') < 30 and time.monotonic() < deadline:
                time.sleep(0.2)  # the server's projections catch up with the demo's log
                page = client.get(signed.headers["location"])
            assert page.status_code == 200 and "Clinique des Érables" in page.text
            assert page.text.count('<tr id="row-') >= 30
            htmx = client.get("/console/static/htmx.min.js")
            assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    finally:
        server.terminate()
        server.wait(timeout=20)
