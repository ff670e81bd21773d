"""The in-process rate-limit storage: limits' memory storage without a timer thread per window."""

from __future__ import annotations

import threading
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from service import ratestorage
from service.ratestorage import SweptMemoryStorage


def test_memory_uri_gives_the_swept_storage():
    assert type(storage_from_string("memory://")) is SweptMemoryStorage


def test_a_fixed_window_counts_refuses_and_starts_again():
    storage = SweptMemoryStorage()
    limiter = FixedWindowRateLimiter(storage)
    item = parse("3 per second")
    assert [limiter.hit(item, "site") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(item, "other")  # keys count apart
    storage.expirations[item.key_for("site")] = time.time() - 0.001  # the window ended
    assert limiter.hit(item, "site")
    assert storage.get(item.key_for("site")) == 1


def test_counting_starts_no_thread():
    storage = SweptMemoryStorage()
    storage.timer.join()  # the one limits' constructor starts
    before = threading.active_count()
    for n in range(50):
        storage.incr(f"key-{n % 3}", 60)
        time.sleep(0.0005)
    time.sleep(0.02)  # past the 10 ms after which limits' own storage starts another timer
    storage.incr("key-0", 60)
    assert threading.active_count() == before
    assert not storage.timer.is_alive()


def test_ended_windows_of_keys_not_seen_again_are_swept():
    storage = SweptMemoryStorage()
    for n in range(5):
        storage.incr(f"visitor-{n}", 60)
    for n in range(3):  # three windows ended; their keys are never counted again
        storage.expirations[f"visitor-{n}"] = time.time() - 1
    storage.incr("visitor-4", 60)
    assert len(storage.storage) == 5  # not yet: at most once a SWEEP_SECONDS
    storage.next_sweep = time.monotonic() - 1
    storage.incr("visitor-4", 60)
    assert set(storage.storage) == {"visitor-3", "visitor-4"}
    assert set(storage.expirations) == {"visitor-3", "visitor-4"}
    assert storage.next_sweep > time.monotonic() + ratestorage.SWEEP_SECONDS - 1


def test_the_moving_window_of_sign_in_throttling_still_works():
    limiter = MovingWindowRateLimiter(SweptMemoryStorage())
    item = parse("2 per minute")
    assert [limiter.hit(item, "account") for _ in range(3)] == [True, True, False]
