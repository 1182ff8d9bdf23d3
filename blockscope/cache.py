"""The one cache type of the server: bounded, least recently used first out, optionally expiring.

Every cache is named and registered, so `clear_all()` empties them together (tests, or a change of
settings) and `sizes()` reports how full each is.
"""

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from .config import get_settings

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_MISSING = object()
_registry: "weakref.WeakValueDictionary[str, BoundedCache]" = weakref.WeakValueDictionary()


class _Flight:
    """One computation of a key that other threads may wait for."""

    def __init__(self):
        self.done = threading.Event()
        self.ok = False
        self.value = None


class BoundedCache(Generic[K, V]):
    """A thread-safe map that keeps at most `size` entries, each for at most `ttl_s` seconds.

    `size` and `ttl_s` name a setting (read each time, so a changed setting applies at once) or are
    numbers; `ttl_s=None` keeps entries until they are the least recently used one too many.
    """

    def __init__(self, name: str, size: str | int, ttl_s: str | float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.name = name
        self._size, self._ttl_s = size, ttl_s
        self.clock = clock  # seconds, for expiry (a test may set a fake one)
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._flights: dict[K, _Flight] = {}  # computations under way, by key
        self._lock = threading.Lock()
        _registry[name] = self

    @staticmethod
    def _resolve(value):
        return getattr(get_settings(), value) if isinstance(value, str) else value

    @property
    def size(self) -> int:
        return self._resolve(self._size)

    @property
    def ttl_s(self) -> float | None:
        return self._resolve(self._ttl_s)

    def get(self, key: K, default=None):
        with self._lock:
            entry = self._entries.get(key, _MISSING)
            if entry is _MISSING:
                return default
            expires, value = entry
            if self.clock() >= expires:
                del self._entries[key]
                return default
            self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> V:
        ttl = self.ttl_s
        expires = float("inf") if ttl is None else self.clock() + ttl
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        """The cached value, or `compute()` stored and returned. Threads that miss the same key at
        once share one computation (a class asking for one new URL costs one); when it fails,
        each of them computes for itself, so every one gets its own error."""
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value
        with self._lock:
            flight = self._flights.get(key)
            leading = flight is None
            if leading:
                flight = self._flights[key] = _Flight()
        if not leading:
            flight.done.wait()
            return flight.value if flight.ok else compute()
        try:
            flight.value = self.put(key, compute())
            flight.ok = True
            return flight.value
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()

    def computing(self, key: K) -> bool:
        """Whether a computation of `key` is under way (a request for it would join that one)."""
        with self._lock:
            return key in self._flights

    def __contains__(self, key: K) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def keys(self) -> list[K]:
        """The keys held now, least recently used first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def clear_all() -> None:
    """Empty every cache of the server."""
    for cache in list(_registry.values()):
        cache.clear()


def named(name: str) -> BoundedCache:
    """The cache registered under `name` (see `sizes()` for the names)."""
    return _registry[name]


def sizes() -> dict[str, int]:
    """How many entries each cache holds now."""
    return {name: len(cache) for name, cache in sorted(_registry.items())}
