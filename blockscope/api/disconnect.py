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
from fastapi import Request
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")
POLL_S = 0.2


async def unless_disconnected(request: Request, work: Callable[[threading.Event], T]) -> T:
    """`work(cancel)` in a worker thread; `cancel` is set if the client disconnects meanwhile."""
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
            outcome.append((True, await run_in_threadpool(work, cancel)))
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
