"""Fixtures: a real ``eventlog serve``, built from this repository, on a
fresh SQLite file and loopback ports chosen by the system."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))  # the package, uninstalled

_HTTP_RE = re.compile(r'msg="serving HTTP" addr=(\S+)|"msg":"serving HTTP","addr":"([^"]+)"')


class Server:
    """A running ``eventlog serve``: ``url`` is its REST API."""

    def __init__(self, binary: Path, workdir: Path, args: list[str] = ()):
        self.binary = binary
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.db = workdir / "x.db"
        self.args = list(args)
        self.proc = None
        self.url = ""

    def start(self) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTLOG_")}
        self.log = open(self.workdir / "server.log", "ab+")
        start = self.log.seek(0, os.SEEK_END)
        self.proc = subprocess.Popen(
            [str(self.binary), "serve", "--db", str(self.db), "--grpc-addr", "127.0.0.1:0",
             "--http-addr", "127.0.0.1:0", "--access-log", "off", *self.args],
            stdout=self.log, stderr=self.log, env=env, cwd=self.workdir)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.log.seek(start)
            text = self.log.read().decode(errors="replace")
            m = _HTTP_RE.search(text)
            if m:
                self.url = "http://" + (m.group(1) or m.group(2))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"eventlog serve ended with {self.proc.returncode}:\n{text}")
            time.sleep(0.02)
        self.proc.kill()
        raise RuntimeError(f"eventlog serve did not listen within 60s:\n{text}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def eventlog_binary(tmp_path_factory) -> Path:
    """The eventlog binary, built from this repository once per run."""
    go = shutil.which("go")
    if go is None:
        pytest.fail("go is needed to build eventlog for these tests")
    out = tmp_path_factory.mktemp("bin") / "eventlog"
    subprocess.run([go, "build", "-o", str(out), "./cmd/eventlog"], cwd=REPO, check=True)
    return out


@pytest.fixture(scope="session")
def server(eventlog_binary, tmp_path_factory):
    """One server for the session; tests tell their entries apart by
    content types or object ids of their own."""
    s = Server(eventlog_binary, tmp_path_factory.mktemp("server")).start()
    yield s
    s.stop()


@pytest.fixture
def new_server(eventlog_binary, tmp_path):
    """Starts servers of the test's own (args: extra flags); stops them at
    its end."""
    started = []

    def start(*args: str, workdir: Path | None = None) -> Server:
        s = Server(eventlog_binary, workdir or tmp_path / f"server{len(started)}", list(args)).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
