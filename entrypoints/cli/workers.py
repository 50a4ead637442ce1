"""``hub serve [--workers N]``: one listening socket, each connection handed to the worker
process that has the fewest open, and the read models kept by a process of their own.

uvicorn's own workers share the listening socket and accept from it themselves: the first to
wake takes every connection waiting (a burst of 32 keep-alive clients was split 22/10, 2/30,
17/15 here). A worker is one core at most (the GIL), so its share of connections sets its
clients' latency: the busier worker's clients waited twice as long. Here the supervisor
accepts, and passes the socket (``SCM_RIGHTS``) to the least loaded worker, which serves it
like any connection of its own; each worker reports its open connections every tenth of a
second. A worker that dies is replaced; one that cannot start stops the server.

The read models (``HUB_PROJECTIONS_IN_SERVER``) are kept by a process of their own beside the
workers, one worker or N, not by a thread of a worker: that worker's clients waited behind the
runner's batches (``bench.http_booking``'s p99 was shorter with the runner beside in 3 of 4
alternated pairs with 2 workers, 3 of 3 with one; docs/benchmarks.md). It is elected like any
runner (one per store, however many servers) and replaced when it dies; the workers' reads
wait for it as for an elected runner.
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
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

import structlog
import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = structlog.get_logger("hub.serve")
#: The read-model process yields the cores to the workers' requests, and catches up between
#: them: with 10 against 0, ``bench.http_booking --workers 2`` had the shorter p99 in 3 of 4
#: alternated pairs, and the read models were at most 25 events behind at the last answer.
READ_MODELS_NICENESS = 10
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


def work(config: uvicorn.Config, channel: socket.socket, read_models_beside: bool) -> None:
    """A worker process: serve what the supervisor hands over ``channel``."""
    config.configure_logging()
    if read_models_beside:
        from entrypoints.api.readmodels import kept_beside

        kept_beside()
    HandedServer(config).run(sockets=[channel])


def keep_read_models(supervisor: Connection) -> None:
    """The read-model process of ``hub serve --workers N``: follows the log while it holds the
    store's read-model lease (``hub.readmodels.leader``), until SIGTERM or SIGINT, or until
    the supervisor is gone (its end of ``supervisor`` closed)."""
    from hub.bootstrap import bootstrap, build_projector, read_models_lease, setting_up
    from hub.logging import configure_logging
    from hub.readmodels.leader import Leadership
    from hub.runtime import tune_gc
    from hub.settings import Settings

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _number, _frame: stop.set())

    def orphaned() -> None:
        try:
            supervisor.recv()
        except (EOFError, OSError):
            pass
        stop.set()

    threading.Thread(target=orphaned, name="supervisor-watch", daemon=True).start()
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        app = bootstrap(settings)
        with setting_up(app):
            projector = build_projector(app, settings=settings)
    except Exception as exc:  # noqa: BLE001 - the supervisor stops the server and says why
        log.error("the read-model process could not start", error=type(exc).__name__, detail=str(exc))
        sys.exit(STARTUP_FAILURE)
    tune_gc(settings.gc_threshold)
    os.nice(READ_MODELS_NICENESS)
    leadership = Leadership(projector, read_models_lease(app))
    leadership.start()
    try:
        stop.wait()
    finally:
        leadership.close()
        projector.close()
        app.close()


class Worker:
    """A worker process seen from the supervisor: its end of the channel and its load."""

    def __init__(self, config: uvicorn.Config, read_models_beside: bool) -> None:
        self.channel, theirs = socket.socketpair()
        self.process = multiprocessing.get_context("spawn").Process(
            target=work, args=(config, theirs, read_models_beside), daemon=False)
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
        stop(self.process)


def stop(process: multiprocessing.process.BaseProcess) -> None:
    if process.is_alive() and process.pid:
        os.kill(process.pid, signal.SIGTERM)


class ReadModels:
    """The read-model process seen from the supervisor (``keep_read_models``)."""

    def __init__(self) -> None:
        self.watched, theirs = multiprocessing.Pipe()  # it stops when this end closes
        self.process = multiprocessing.get_context("spawn").Process(
            target=keep_read_models, args=(theirs,), name="hub-read-models", daemon=False)
        self.process.start()
        theirs.close()


def serve_workers(config: uvicorn.Config, workers: int, read_models: bool) -> int:
    """Supervise ``workers`` processes on ``config``'s address, and with ``read_models`` the
    process that keeps the read models, until SIGINT or SIGTERM."""
    listener = config.bind_socket()
    listener.listen(config.backlog)
    listener.setblocking(False)
    keeper = ReadModels() if read_models else None
    pool = [Worker(config, read_models) for _ in range(workers)]
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
                pool[i] = Worker(config, read_models)
            if keeper is not None and not keeper.process.is_alive() and not stopping:
                if keeper.process.exitcode == STARTUP_FAILURE:
                    log.error("the read-model process could not start; stopping",
                              pid=keeper.process.pid)
                    stopping.append(0)
                    code = 1
                else:
                    log.warning("the read-model process died; starting another",
                                pid=keeper.process.pid, exitcode=keeper.process.exitcode)
                    keeper.watched.close()
                    keeper = ReadModels()
    finally:
        listener.close()
        processes = [w.process for w in pool] + ([keeper.process] if keeper is not None else [])
        for process in processes:
            stop(process)
        deadline = time.monotonic() + (config.timeout_graceful_shutdown or 30)
        for process in processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
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
