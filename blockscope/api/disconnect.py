"""Run a measurement for a request, and withdraw it when the client goes away.

Measurements wait on the measuring process for seconds; a student who closes the tab or presses
Measure again should not leave work running that nobody will read. The blocking call runs in a
worker thread while the event loop watches the connection; on a disconnect the call's `cancel`
event is set, which withdraws the request (and the job, when no other request waits for it).
"""

import threading
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.lowlevel
from fastapi import Request

from .web import HEAD

T = TypeVar("T")
POLL_S = 0.2

# Requests waiting for the measuring process wait in threads of their own: were they to take the
# thread pool that serves analyses, sweeps and pages, a class's measurements (each waiting seconds)
# would hold up every slider. How many may wait is bounded elsewhere (the queue's limits).
_waiting_threads: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar("waiting_threads")
WAITING_THREADS = 128


def _limiter() -> anyio.CapacityLimiter:
    try:
        return _waiting_threads.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(WAITING_THREADS)
        _waiting_threads.set(limiter)
        return limiter


class NotForHead(Exception):
    """HEAD on a route that runs real tensors: answered 405 rather than spending device time on an
    answer nobody reads."""


async def unless_disconnected(request: Request, work: Callable[[threading.Event], T]) -> T:
    """`work(cancel)` in a worker thread; `cancel` is set if the client disconnects meanwhile."""
    if request.scope.get(HEAD):
        raise NotForHead
    cancel = threading.Event()
    done = anyio.Event()

    async def watch() -> None:
        while not done.is_set():
            if await request.is_disconnected():
                cancel.set()
                return
            with anyio.move_on_after(POLL_S):
                await done.wait()

    outcome: list = []

    async def run() -> None:
        try:
            outcome.append((True, await anyio.to_thread.run_sync(work, cancel, limiter=_limiter())))
        except Exception as exc:
            outcome.append((False, exc))
        finally:
            done.set()

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        group.start_soon(run)
    ok, value = outcome[0]
    if not ok:
        raise value
    return value
