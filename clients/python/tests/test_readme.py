"""The README's Python example runs as written, against a real server."""

import re
from pathlib import Path

import eventlog

REPO = Path(__file__).resolve().parents[3]


def example(path: Path) -> str:
    text = path.read_text()
    section = text.split("## Python and Django", 1)[-1] if "## Python and Django" in text else text
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_examples(server):
    for path in (REPO / "README.md", REPO / "clients/python/README.md"):
        code = example(path)
        assert len(code.strip().splitlines()) == 3
        assert "http://127.0.0.1:8080" in code
        filters = {"content_type": "Note", "object_id": "n-1", "actor": "bob"}
        before = len(list(eventlog.Client(server.url).list(filters)))
        ns = {}
        exec(code.replace("http://127.0.0.1:8080", server.url), ns)
        got = list(ns["log"].list(filters))
        assert len(got) == before + 1
        assert got[0]["details"] == {"field": "body"}  # the newest
