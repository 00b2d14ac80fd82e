"""A background logger: entries are queued and sent in batches by a worker
thread, so that the caller never waits for the audit log."""

from __future__ import annotations

import atexit
import logging
import random
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .client import Client, entry
from .errors import REFUSALS, Error

__all__ = ["Logger", "LoggerStats", "Dropped", "Closed"]

_log = logging.getLogger("eventlog")

MAX_BATCH = 1000


class Dropped(Exception):
    """The queue was full and the Logger drops entries when it is."""


class Closed(Exception):
    """The Logger is closed."""


@dataclass
class LoggerStats:
    sent: int = 0     # entries acknowledged by the server
    retried: int = 0  # calls made again after a failure that may pass
    dropped: int = 0  # entries refused by log because the queue was full
    failed: int = 0   # entries the server refused (on_error)
    queued: int = 0   # entries held now, queued or being sent


def new_key() -> str:
    """A new idempotency key: 128 random bits."""
    return "lg-" + secrets.token_hex(16)


class Logger:
    """Sends entries to the log in the background, in batches.

    ``log`` queues an entry and returns; a worker thread sends what is queued
    with ``LogEvents`` (up to ``batch_size`` a call, in the basic view),
    retrying with jittered backoff from ``min_backoff`` to ``max_backoff``
    seconds while the server cannot be reached.

    Retries never store an entry twice: ``log`` gives every entry without an
    idempotency key a new random key, and a retry resends the same keys, so
    an entry whose answer was lost is returned by the server rather than
    written again. At most ``queue_size`` entries are held (queued or being
    sent); when that many are, ``log`` waits for room (``when_full="block"``,
    the default, up to its ``timeout``) or raises ``Dropped``
    (``when_full="drop"``). Entries the server refuses (bad input, a key that
    names another entry, a missing permission) are not retried: they go to
    ``on_error(request, error)``, or to the ``eventlog`` Python logger.

    ``flush`` waits until what was logged before it is stored; ``close``
    sends what is queued and stops the worker. Unless ``flush_at_exit`` is
    false, the interpreter's exit closes the Logger, waiting up to
    ``exit_timeout`` seconds.
    """

    def __init__(self, client: Client, *, batch_size: int = 500, queue_size: int = 10_000,
                 when_full: str = "block", min_backoff: float = 0.05, max_backoff: float = 5.0,
                 on_error: Callable[[dict, Error], None] | None = None,
                 flush_at_exit: bool = True, exit_timeout: float = 10.0):
        if when_full not in ("block", "drop"):
            raise ValueError(f'when_full: want "block" or "drop", got {when_full!r}')
        self.client = client
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.queue_size = max(1, queue_size)
        self.when_full = when_full
        self.min_backoff = min_backoff
        self.max_backoff = max(max_backoff, min_backoff)
        self.on_error = on_error
        self.exit_timeout = exit_timeout

        self._cond = threading.Condition()
        self._queue: deque[tuple[int, dict]] = deque()
        self._held = 0      # queued or being sent
        self._logged = 0    # entries accepted by log, in order
        self._done = 0      # entries accepted, then stored or given up, in order
        self._closed = False
        self._stop = threading.Event()  # set when close gives up
        self._gave_up = 0
        self._stats = LoggerStats()
        self._worker = threading.Thread(target=self._run, name="eventlog-logger", daemon=True)
        self._worker.start()
        self._exit_hook = None
        if flush_at_exit:
            ref = weakref.ref(self)

            def at_exit() -> None:
                logger = ref()
                if logger is not None:
                    logger._close_at_exit()

            self._exit_hook = at_exit
            atexit.register(at_exit)

    def log(self, request: Mapping | None = None, /, *, timeout: float | None = None, **fields) -> str:
        """Queues an entry: a ``LogEventRequest`` made by ``eventlog.entry``,
        or ``entry``'s arguments as keywords (``type``, ``content_type``,
        ``object_id``, ``actor``, ...). Returns its idempotency key."""
        req = dict(request) if request is not None else entry(**fields)
        if not req.get("idempotencyKey") and not req.get("idempotency_key"):
            req["idempotencyKey"] = new_key()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if self._closed:
                raise Closed("eventlog: the logger is closed")
            while self._held >= self.queue_size:
                if self.when_full == "drop":
                    self._stats.dropped += 1
                    raise Dropped("eventlog: the logger's queue is full; entry dropped")
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError("eventlog: no room in the logger's queue")
                self._cond.wait(left)
                if self._closed:
                    raise Closed("eventlog: the logger is closed")
            self._held += 1
            self._logged += 1
            self._queue.append((self._logged, req))
            self._cond.notify_all()
        return req.get("idempotencyKey") or req.get("idempotency_key")

    def flush(self, timeout: float | None = None) -> None:
        """Returns once every entry logged before it was stored or refused
        by the server; raises ``TimeoutError`` after ``timeout`` seconds, and
        ``Closed`` when entries were given up by ``close``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._logged
            while self._done < target:
                if not self._worker.is_alive():
                    raise Closed(f"eventlog: the logger stopped with {target - self._done} entries not stored")
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"eventlog: {target - self._done} entries not yet stored")
                self._cond.wait(left if left is not None else 1.0)
            if self._gave_up:
                raise Closed(f"eventlog: {self._gave_up} entries were given up when the logger closed")

    def close(self, timeout: float | None = None) -> None:
        """Stops taking entries, sends those queued and returns when they
        are stored. After ``timeout`` seconds it stops retrying and raises
        ``TimeoutError`` with the number of entries given up. Safe to call
        more than once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._exit_hook is not None:
            atexit.unregister(self._exit_hook)
            self._exit_hook = None
        self._worker.join(timeout)
        if self._worker.is_alive():
            self._stop.set()
            with self._cond:
                self._cond.notify_all()
            self._worker.join()
            with self._cond:
                lost = self._logged - self._done + self._gave_up
            raise TimeoutError(f"eventlog: close: {lost} entries not stored")

    def stats(self) -> LoggerStats:
        with self._cond:
            return LoggerStats(self._stats.sent, self._stats.retried, self._stats.dropped,
                               self._stats.failed, self._held)

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _close_at_exit(self) -> None:
        try:
            self.close(self.exit_timeout)
        except Exception as e:  # the interpreter is exiting: say so, and go on
            _log.error("eventlog: at exit: %s", e)

    # The worker.

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return  # closed, and everything sent
                n = min(len(self._queue), self.batch_size)
                batch = [self._queue.popleft() for _ in range(n)]
            self._deliver([req for _, req in batch])
            with self._cond:
                self._done = batch[-1][0]
                self._held -= len(batch)
                self._cond.notify_all()

    def _deliver(self, batch: list[dict]) -> None:
        """Sends batch until it is stored, refused, or close gives up. A
        refused batch is sent again entry by entry, so that one bad entry
        does not take its neighbours down."""
        err = self._write(batch)
        if err is None:
            return
        if len(batch) == 1:
            self._refuse(batch[0], err)
            return
        for req in batch:
            err = self._write([req])
            if err is not None:
                self._refuse(req, err)

    def _write(self, batch: list[dict]) -> Error | None:
        """One call for batch, again while its failure may pass; None once
        stored, or the server's refusal."""
        wait = self.min_backoff
        while True:
            if self._stop.is_set():
                self._give_up(len(batch))
                return None
            try:
                self.client.log_many(batch, basic=True)
            except Error as e:
                if e.code in REFUSALS:
                    return e
                _log.debug("eventlog: retrying %d entries: %s", len(batch), e)
            except Exception as e:  # a fault of the transport: retry as for UNAVAILABLE
                _log.debug("eventlog: retrying %d entries: %r", len(batch), e)
            else:
                with self._cond:
                    self._stats.sent += len(batch)
                return None
            with self._cond:
                self._stats.retried += 1
            # Full jitter, so that the loggers of many processes do not
            # retry in step after an outage.
            if self._stop.wait(random.uniform(0, wait)):
                self._give_up(len(batch))
                return None
            wait = min(2 * wait, self.max_backoff)

    def _give_up(self, n: int) -> None:
        with self._cond:
            self._gave_up += n

    def _refuse(self, req: dict, err: Error) -> None:
        with self._cond:
            self._stats.failed += 1
        if self.on_error is not None:
            try:
                self.on_error(req, err)
            except Exception:
                _log.exception("eventlog: on_error raised")
        else:
            _log.error("eventlog: entry refused by the server: %s", err)
