"""A cache for computed views bounded in bytes and in idle time, shared by every session.

``st.cache_data`` bounds entries by count and hands every session its own deserialised copy; a view
at the largest accepted size is hundreds of MB, so a few sessions would keep gigabytes. This cache
keeps one immutable copy per key (sessions share it), evicts the least recently used entries beyond
:data:`CACHE_BUDGET_BYTES`, and drops entries idle for :data:`IDLE_SECONDS`. A semaphore lets at most
:data:`CONCURRENT_COMPUTATIONS` views be computed at once (the machine has two cores): a third waits
instead of slowing everyone down and holding a third set of arrays.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

CACHE_BUDGET_BYTES = 768 * 2**20
IDLE_SECONDS = float(os.environ.get("LSTMVIZ_CACHE_IDLE_SECONDS", 300))
"""Idle time after which a cached view is dropped (the load test shortens it)."""
CONCURRENT_COMPUTATIONS = 2


class BytesCache:
    """Least-recently-used entries, at most ``budget`` bytes in all, none idle longer than ``idle``."""

    def __init__(self, budget: int = CACHE_BUDGET_BYTES, idle: float = IDLE_SECONDS,
                 concurrent: int = CONCURRENT_COMPUTATIONS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.budget, self.idle, self.clock = budget, idle, clock
        self._entries: OrderedDict[Hashable, tuple[Any, int, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._computing = threading.BoundedSemaphore(concurrent)
        self._key_locks: dict[Hashable, threading.Lock] = {}

    @property
    def size(self) -> int:
        with self._lock:
            return sum(size for _, size, _ in self._entries.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            self._expire()
            if key not in self._entries:
                return None
            value, size, _ = self._entries.pop(key)
            self._entries[key] = (value, size, self.clock())
            return value

    def put(self, key: Hashable, value: Any, size: int) -> None:
        with self._lock:
            self._entries.pop(key, None)
            if size <= self.budget:
                self._entries[key] = (value, size, self.clock())
            self._shrink()

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any], size_of: Callable[[Any], int]) -> Any:
        """The cached value, or ``compute()`` (one computation per key at a time, a few keys at once)."""
        value = self.get(key)
        if value is not None:
            return value
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            value = self.get(key)  # another session may have computed it meanwhile
            if value is None:
                with self._computing:
                    value = compute()
                self.put(key, value, size_of(value))
        with self._lock:
            self._key_locks.pop(key, None)
        return value

    def start_janitor(self, interval: float = 30.0) -> None:
        """Expire idle entries every ``interval`` seconds even when no session asks for anything."""

        def sweep() -> None:
            while True:
                time.sleep(interval)
                self.expire()

        threading.Thread(target=sweep, name="lstmviz-cache-janitor", daemon=True).start()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def expire(self) -> None:
        with self._lock:
            self._expire()

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, (_, _, used) in self._entries.items() if now - used > self.idle]:
            del self._entries[key]

    def _shrink(self) -> None:
        while self._entries and sum(size for _, size, _ in self._entries.values()) > self.budget:
            self._entries.popitem(last=False)
