import http.server
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

import eventlog


def uid() -> str:
    return uuid.uuid4().hex[:12]


class FaultyProxy:
    """An HTTP proxy in front of the server that can be down (503 without
    forwarding) or lose answers (forward, then answer 503 as if the answer
    had been lost on the way back)."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.down = False
        self.lose = 0  # answers to lose, after forwarding
        self.calls = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.calls += 1
                if proxy.down:
                    return self.reply(503, b'{"code":14,"message":"down"}')
                r = requests.post(proxy.upstream + self.path, data=body,
                                  headers={"Content-Type": self.headers["Content-Type"]})
                if proxy.lose > 0:
                    proxy.lose -= 1
                    return self.reply(503, b'{"code":14,"message":"answer lost"}')
                self.reply(r.status_code, r.content)

            def reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def proxy(server):
    p = FaultyProxy(server.url)
    yield p
    p.close()


def stored(client, obj):
    return list(client.list({"object_id": obj}, order_by="id asc"))


def test_logger_sends_everything_in_batches(server):
    client = eventlog.Client(server.url)
    obj = uid()
    with eventlog.Logger(client, batch_size=100) as logger:
        keys = [logger.log(type="edit", content_type="Log", object_id=obj, actor="a", details={"n": i})
                for i in range(1000)]
        logger.flush(timeout=30)
        st = logger.stats()
        assert (st.sent, st.failed, st.dropped, st.queued) == (1000, 0, 0, 0)
    got = stored(client, obj)
    assert [e["details"]["n"] for e in got] == list(range(1000))  # in order
    assert [e["idempotencyKey"] for e in got] == keys
    assert len(set(keys)) == 1000


def test_logger_retries_lost_answers_without_duplicates(server, proxy):
    client = eventlog.Client(server.url)
    obj = uid()
    proxy.lose = 3
    logger = eventlog.Logger(eventlog.Client(proxy.url), batch_size=10, min_backoff=0.01, max_backoff=0.05)
    for i in range(50):
        logger.log(eventlog.entry("create", "Lost", obj, actor="a", details={"n": i}))
    logger.flush(timeout=30)
    logger.close()
    assert logger.stats().retried >= 3
    got = stored(client, obj)
    assert sorted(e["details"]["n"] for e in got) == list(range(50))  # each once


def test_logger_waits_out_an_outage(server, proxy):
    client = eventlog.Client(server.url)
    obj = uid()
    proxy.down = True
    logger = eventlog.Logger(eventlog.Client(proxy.url), min_backoff=0.01, max_backoff=0.05)
    logger.log(type="edit", content_type="Down", object_id=obj, actor="a")
    with pytest.raises(TimeoutError):
        logger.flush(timeout=0.3)
    assert logger.stats().queued == 1
    proxy.down = False
    logger.flush(timeout=30)
    logger.close()
    assert len(stored(client, obj)) == 1
    assert logger.stats().retried >= 1


def test_logger_refused_entry_spares_its_neighbours(server):
    client = eventlog.Client(server.url)
    obj = uid()
    refused = []
    logger = eventlog.Logger(client, on_error=lambda req, err: refused.append((req, err)))
    # Hold the worker back so that the three entries travel in one batch.
    with logger._cond:
        logger.log(type="edit", content_type="Ok", object_id=obj, actor="a", details={"n": 0})
        logger.log({"event": {"eventType": "EVENT_TYPE_EDIT", "actor": {"name": "a"}, "objectId": obj}})
        logger.log(type="edit", content_type="Ok", object_id=obj, actor="a", details={"n": 2})
    logger.close()
    assert [e["details"]["n"] for e in stored(client, obj)] == [0, 2]
    assert len(refused) == 1
    req, err = refused[0]
    assert isinstance(err, eventlog.InvalidArgument) and err.field == "requests[0].event.content_type"
    assert logger.stats().failed == 1


def test_logger_bounded_queue(proxy):
    proxy.down = True
    logger = eventlog.Logger(eventlog.Client(proxy.url), queue_size=3, when_full="drop",
                             min_backoff=0.01, max_backoff=0.02)
    for _ in range(3):
        logger.log(type="edit", content_type="Full", object_id="1", actor="a")
    with pytest.raises(eventlog.Dropped):
        logger.log(type="edit", content_type="Full", object_id="1", actor="a")
    assert logger.stats().dropped == 1 and logger.stats().queued == 3
    with pytest.raises(TimeoutError):
        logger.close(timeout=0.2)  # the server never comes back: close gives up
    with pytest.raises(eventlog.Closed):
        logger.log(type="edit", content_type="Full", object_id="1", actor="a")

    blocking = eventlog.Logger(eventlog.Client(proxy.url), queue_size=1, min_backoff=0.01, max_backoff=0.02)
    blocking.log(type="edit", content_type="Full", object_id="1", actor="a")
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        blocking.log(type="edit", content_type="Full", object_id="1", actor="a", timeout=0.2)
    assert time.monotonic() - t0 >= 0.2
    proxy.down = False
    blocking.close(timeout=30)


def test_logger_flushes_at_exit(server):
    obj = uid()
    script = f"""
import eventlog
logger = eventlog.Logger(eventlog.Client({server.url!r}))
for i in range(300):
    logger.log(type="create", content_type="Exit", object_id={obj!r}, actor="a", details={{"n": i}})
"""  # no flush, no close: the interpreter's exit sends them
    pkg = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, env={"PYTHONPATH": str(pkg)})
    got = stored(eventlog.Client(server.url), obj)
    assert [e["details"]["n"] for e in got] == list(range(300))
