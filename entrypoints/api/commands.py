"""The API's commands on a few threads of their own: one hop from the event loop, first come,
first served.

A command (a booking, an EMR message) blocks on the database, so it leaves the event loop for a
thread. anyio's threadpool, which Starlette's ``run_in_threadpool`` uses, costs about 0.25–0.35 ms
of CPU per hop with 32 clients on one process, as much as a sixth of a booking: a cancel scope,
a capacity limiter, and up to 40 threads handing the GIL to each other while most of them wait
for the command gate (``hub.command_gate``). Here a command is queued on an executor of
``HUB_API_COMMAND_CONCURRENCY`` threads (``concurrent.futures``: first come, first served, as
the gate), and only that many threads ever run commands: ≈ 0.1 ms per hop, and 300–350 against
266–312 bookings/s in three alternated pairs (docs/benchmarks.md, "Write path, sixth
session"). ``0``: no cap, the commands take anyio's threadpool as before.

The request's context (the acting principal, ``hub.actor``) is copied into the thread, as
``run_in_threadpool`` does. A request whose client went away still completes its command; its
answer is dropped.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

R = TypeVar("R")


class CommandLane:
    """Runs commands on ``width`` threads of their own, in arrival order (0: anyio's threadpool)."""

    def __init__(self, width: int) -> None:
        if width < 0:
            raise ValueError("the command lane's width is 0 (anyio's threadpool) or more")
        self.width = width
        self._pool = ThreadPoolExecutor(width, thread_name_prefix="command") if width else None

    async def run(self, command: Callable[..., R], *args: Any) -> R:
        """``command(*args)`` on a command thread, in this request's context."""
        if self._pool is None:
            return await run_in_threadpool(command, *args)
        call = functools.partial(contextvars.copy_context().run, command, *args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        """Let the commands running finish; refuse new ones."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
