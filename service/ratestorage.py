"""The in-process rate-limit storage (``RATELIMIT_STORAGE_URI=memory://``, the default).

limits' ``MemoryStorage`` drops the counters of ended windows from a timer thread that it starts
anew, 10 ms after the last, on every ``incr`` that finds it ended: a thread started every few
requests per worker, a large share of a consent POST's cost (docs/performance.md).
This storage drops an ended window when its key is next counted (as ``MemoryStorage`` does
already) and sweeps the counters of keys not seen again at most once a ``SWEEP_SECONDS``.
Registered under ``memory``, so the configured URI stays the one limits documents.
"""

from __future__ import annotations

import time

from limits.storage import MemoryStorage

SWEEP_SECONDS = 10.0


class SweptMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.next_sweep = time.monotonic() + SWEEP_SECONDS

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        self.get(key)  # an ended window starts again
        self.sweep_now_and_then()
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = time.time() + expiry
        return self.storage.get(key, 0)

    def sweep_now_and_then(self) -> None:
        """Drop the counters whose window ended, once a ``SWEEP_SECONDS`` at most."""
        now = time.monotonic()
        if now < self.next_sweep:
            return
        self.next_sweep = now + SWEEP_SECONDS
        ended = time.time()
        for key, expires in list(self.expirations.items()):
            if expires <= ended:
                self.get(key)
