"""Measures the entries per second one Python process sends through
eventlog.Logger to a server.

    python3 clients/python/bench_logger.py --url http://127.0.0.1:8080
    python3 clients/python/bench_logger.py --eventlog ./eventlog   # starts its own server on a temporary SQLite file

Each entry is about the size of a model's audit entry: an actor, an object
with its repr, a few details and the request context. The figure is the
entries logged divided by the time from the first log() to the end of
flush(): what the process can sustain, not how fast log() returns.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import eventlog  # noqa: E402


def run(url: str, n: int, batch_size: int) -> float:
    client = eventlog.Client(url)
    logger = eventlog.Logger(client, batch_size=batch_size, queue_size=max(n, 10_000))
    request = {"remote_addr": "203.0.113.7", "method": "POST", "path": "/notes/42/edit",
               "status": 200, "user_agent": "Mozilla/5.0", "request_id": "r-1"}
    t0 = time.perf_counter()
    for i in range(n):
        logger.log(type="edit", content_type="notes.Note", object_id=i, object_repr=f"Meeting notes {i}",
                   actor={"id": 7, "name": "bob", "kind": "user"},
                   details={"field": "title", "old": "draft", "new": f"v{i}"}, request=request)
    queued = time.perf_counter() - t0
    logger.flush()
    total = time.perf_counter() - t0
    logger.close()
    st = logger.stats()
    assert st.sent == n and st.failed == 0, st
    print(f"{n} entries: log() {n / queued:,.0f}/s, stored {n / total:,.0f} entries/s "
          f"(batch size {batch_size}, {st.retried} retries)")
    return n / total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="the server's REST API")
    ap.add_argument("--eventlog", help="an eventlog binary: start a server of its own")
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    if not args.url and not args.eventlog:
        ap.error("give --url or --eventlog")
    server = None
    if args.eventlog:
        sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
        from conftest import Server
        server = Server(Path(args.eventlog).resolve(), Path(tempfile.mkdtemp(prefix="eventlog-bench-"))).start()
        args.url = server.url
    try:
        rates = sorted(run(args.url, args.entries, args.batch_size) for _ in range(args.reps))
        print(f"median: {rates[len(rates) // 2]:,.0f} entries/s")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
