"""``hub serve --workers N``: one listening socket, each connection handed to the worker
process that has the fewest open.

uvicorn's own workers share the listening socket and accept from it themselves: the first to
wake takes every connection waiting (a burst of 32 keep-alive clients was split 22/10, 2/30,
17/15 here). A worker is one core at most (the GIL), so its share of connections sets its
clients' latency: the busier worker's clients waited twice as long. Here the supervisor
accepts, and passes the socket (``SCM_RIGHTS``) to the least loaded worker, which serves it
like any connection of its own; each worker reports its open connections every tenth of a
second. A worker that dies is replaced; one that cannot start stops the server.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import select
import signal
import socket
import struct
import sys
import time
from typing import Any

import structlog
import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = structlog.get_logger("hub.serve")
#: A worker's report: its open connections and how many it has received in all.
REPORT = struct.Struct("!II")


class HandedServer(uvicorn.Server):
    """A uvicorn server serving the connections its supervisor hands it on ``sockets[0]``."""

    received = 0
    _channel: socket.socket | None = None
    _reported: tuple[int, int] = (-1, -1)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(STARTUP_FAILURE)
        config, loop = self.config, asyncio.get_running_loop()

        def protocol(_loop: Any = None) -> asyncio.Protocol:
            made: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state,
                _loop=_loop)
            lost = made.connection_lost

            def connection_lost(exc: Exception | None) -> None:
                lost(exc)
                self.report()  # at once: a client closing and reconnecting is placed right

            made.connection_lost = connection_lost  # type: ignore[method-assign]
            return made

        channel = self._channel = (sockets or [])[0]
        channel.setblocking(False)

        def handed() -> None:
            try:
                data, fds, _, _ = socket.recv_fds(channel, 64, 64)
            except BlockingIOError:
                return
            if not data:  # the supervisor is gone: stop like on SIGTERM
                loop.remove_reader(channel.fileno())
                self.should_exit = True
                return
            for fd in fds:
                self.received += 1
                loop.create_task(loop.connect_accepted_socket(protocol, socket.socket(fileno=fd)))

        loop.add_reader(channel.fileno(), handed)
        self.servers = []
        self.started = True

    def report(self) -> None:
        """Tell the supervisor this worker's open connections, when they changed."""
        report = (len(self.server_state.connections), self.received)
        if self._channel is not None and report != self._reported:
            try:
                self._channel.send(REPORT.pack(*report))
                self._reported = report
            except OSError:
                pass  # full or gone: the next tick tries again, or the server stops

    async def on_tick(self, counter: int) -> bool:
        self.report()
        return await super().on_tick(counter)


def work(config: uvicorn.Config, channel: socket.socket) -> None:
    """A worker process: serve what the supervisor hands over ``channel``."""
    config.configure_logging()
    HandedServer(config).run(sockets=[channel])


class Worker:
    """A worker process seen from the supervisor: its end of the channel and its load."""

    def __init__(self, config: uvicorn.Config) -> None:
        self.channel, theirs = socket.socketpair()
        self.process = multiprocessing.get_context("spawn").Process(
            target=work, args=(config, theirs), daemon=False)
        self.process.start()
        theirs.close()
        self.channel.settimeout(2.0)  # a hung worker's full channel: the next worker gets it
        self.open = self.received = self.handed = 0

    def load(self) -> int:
        """Open connections as last reported, plus those handed since that it had not seen."""
        return self.open + self.handed - self.received

    def hand(self, conn: socket.socket) -> None:
        socket.send_fds(self.channel, [b"c"], [conn.fileno()])
        self.handed += 1

    def read_reports(self) -> None:
        try:
            data = self.channel.recv(REPORT.size * 64, socket.MSG_DONTWAIT)
        except (BlockingIOError, OSError):
            return
        whole = len(data) // REPORT.size * REPORT.size
        if whole:
            self.open, self.received = REPORT.unpack(data[whole - REPORT.size:whole])

    def stop(self) -> None:
        if self.process.is_alive() and self.process.pid:
            os.kill(self.process.pid, signal.SIGTERM)


def serve_workers(config: uvicorn.Config, workers: int) -> int:
    """Supervise ``workers`` processes on ``config``'s address until SIGINT or SIGTERM."""
    listener = config.bind_socket()
    listener.listen(config.backlog)
    listener.setblocking(False)
    pool = [Worker(config) for _ in range(workers)]
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, _frame: stopping.append(number))
    log.info("serving", host=config.host, port=config.port, workers=workers)
    code = 0
    try:
        while not stopping:
            channels = {w.channel.fileno(): w for w in pool}
            readable, _, _ = select.select([listener.fileno(), *channels], [], [], 0.5)
            for fd in readable:
                if fd in channels:
                    channels[fd].read_reports()
            if listener.fileno() in readable:
                accept_all(listener, pool)
            for i, worker in enumerate(pool):
                if worker.process.is_alive():
                    continue
                if worker.process.exitcode == STARTUP_FAILURE:
                    log.error("a worker could not start; stopping", pid=worker.process.pid)
                    stopping.append(0)
                    code = 1
                    break
                log.warning("a worker died; starting another", pid=worker.process.pid,
                            exitcode=worker.process.exitcode)
                worker.channel.close()
                pool[i] = Worker(config)
    finally:
        listener.close()
        for worker in pool:
            worker.stop()
        deadline = time.monotonic() + (config.timeout_graceful_shutdown or 30)
        for worker in pool:
            worker.process.join(max(0.1, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
    return code


def accept_all(listener: socket.socket, pool: list[Worker]) -> None:
    """Hand every waiting connection to the least loaded live worker."""
    while True:
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        with conn:  # the worker holds its own copy once handed
            # as uvicorn's own accept does: answers leave at once, not held back by Nagle
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for worker in sorted((w for w in pool if w.process.is_alive()), key=Worker.load):
                try:
                    worker.hand(conn)
                    break
                except OSError:  # it died meanwhile: the next least loaded
                    continue
