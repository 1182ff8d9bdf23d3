"""How many web requests may wait at once for one kind of work, and when to come back.

A `WaitingLine` stands in front of work a web worker waits for (reparameterization checks, pairs of
forms being measured). It admits at most `limit` requests at once; the next is refused with `Busy`,
whose Retry-After is computed from the work already admitted and how long such work has recently
taken. The measuring process's own queue computes its Retry-After from the estimated durations of
the jobs it holds (`blockscope.measuring.core`).
"""

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..config import get_settings
from ..errors import Busy

SMOOTHING = 0.3  # weight of the newest duration in the running estimate


class WaitingLine:
    """Requests admitted to one resource; `limit` names a setting (read each time) or is a number."""

    def __init__(self, what: str, limit: str | int | Callable[[], int], typical_s: float = 1.0):
        self.what = what
        self._limit = limit
        self._lock = threading.Lock()
        self.admitted = 0
        self.typical_s = typical_s  # smoothed duration of one admitted request's work

    @property
    def limit(self) -> int:
        if callable(self._limit):
            return self._limit()
        return getattr(get_settings(), self._limit) if isinstance(self._limit, str) else self._limit

    def retry_after(self, ahead: int | None = None) -> int:
        """Whole seconds until the work ahead (default: all admitted) should be done, at least 1."""
        ahead = self.admitted if ahead is None else ahead
        return max(1, math.ceil(ahead * self.typical_s))

    def refuse(self, why: str) -> Busy:
        retry = self.retry_after()
        return Busy(f"{why}; try again in {retry} s", retry)

    def enter(self) -> None:
        """Admit one request, or raise Busy when `limit` are already admitted."""
        with self._lock:
            if self.admitted >= self.limit:
                raise self.refuse(f"{self.admitted} {self.what} are already waiting or running")
            self.admitted += 1

    def leave(self, worked_s: float | None = None) -> None:
        """One admitted request is done; `worked_s`, when given, updates the duration estimate."""
        with self._lock:
            self.admitted -= 1
            if worked_s is not None:
                self.typical_s = (1 - SMOOTHING) * self.typical_s + SMOOTHING * worked_s

    @contextmanager
    def admit(self) -> Iterator[None]:
        """`enter`, run the block, `leave` with the block's duration."""
        self.enter()
        started = time.perf_counter()
        try:
            yield
        finally:
            self.leave(time.perf_counter() - started)
