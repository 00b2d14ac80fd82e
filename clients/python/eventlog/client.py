"""The REST client of the eventlog API."""

from __future__ import annotations

import datetime as _dt
import json
import random
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from . import errors
from .errors import Error, Unavailable

__all__ = ["Client", "entry", "event_type", "rfc3339"]

USER_AGENT = "eventlog-python/0.1"

_EVENT_TYPES = ("CREATE", "DELETE", "EDIT", "FETCH", "LOGIN", "LOGOUT", "LOGIN_FAILED")
_ACTOR_KINDS = ("USER", "SERVICE", "SYSTEM")


def event_type(value: str) -> str:
    """The API's name of an event type given as ``create``, ``CREATE`` or
    ``EVENT_TYPE_CREATE``."""
    name = str(value).upper()
    name = name.removeprefix("EVENT_TYPE_")
    if name not in _EVENT_TYPES:
        raise ValueError(f"event type {value!r}: want one of {', '.join(t.lower() for t in _EVENT_TYPES)}")
    return "EVENT_TYPE_" + name


def _actor(value: Any) -> dict:
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, Mapping):
        raise TypeError(f"actor: want a name or a mapping with id, name and kind, got {type(value).__name__}")
    out = {}
    if value.get("id") not in (None, ""):
        out["id"] = str(value["id"])
    if value.get("name"):
        out["name"] = str(value["name"])
    kind = value.get("kind")
    if kind:
        name = str(kind).upper().removeprefix("ACTOR_KIND_")
        if name not in _ACTOR_KINDS:
            raise ValueError(f"actor kind {kind!r}: want user, service or system")
        out["kind"] = "ACTOR_KIND_" + name
    return out


def rfc3339(t: _dt.datetime) -> str:
    """``t`` in RFC 3339, as the API takes times; a naive time is taken as
    local time."""
    if t.tzinfo is None:
        t = t.astimezone()
    return t.isoformat()


_REQUEST_FIELDS = {
    "remote_addr": "remoteAddr", "method": "method", "path": "path", "protocol": "protocol",
    "status": "status", "user_agent": "userAgent", "request_id": "requestId",
}


def _request(value: Mapping) -> dict:
    out = {}
    for k, v in value.items():
        key = _REQUEST_FIELDS.get(k, k)
        if v in (None, "", 0):
            continue
        out[key] = int(v) if key == "status" else str(v)
    return out


def entry(type: str, content_type: str, object_id: Any, *, actor: Any, object_repr: str = "",
          details: Mapping | None = None, request: Mapping | None = None,
          occurred_time: _dt.datetime | None = None, related: Iterable[tuple[str, Any]] = (),
          idempotency_key: str = "") -> dict:
    """A ``LogEventRequest`` in the API's JSON form, for ``Client.log_many``
    and ``Logger.log``.

    ``type`` is an event type (``"edit"``); ``actor`` a name or a mapping with
    ``id``, ``name`` and ``kind`` (``"user"``, ``"service"``, ``"system"``);
    ``request`` a mapping of the request context (``remote_addr``,
    ``method``, ``path``, ``protocol``, ``status``, ``user_agent``,
    ``request_id``); ``related`` (content type, object id) pairs that this
    entry alone propagates to."""
    event: dict[str, Any] = {
        "eventType": event_type(type),
        "actor": _actor(actor),
        "contentType": str(content_type),
        "objectId": str(object_id),
    }
    if object_repr:
        event["objectRepr"] = str(object_repr)
    if details:
        event["details"] = dict(details)
    if request:
        req = _request(request)
        if req:
            event["request"] = req
    if occurred_time is not None:
        event["occurredTime"] = rfc3339(occurred_time)
    out: dict[str, Any] = {"event": event}
    rel = [{"contentType": str(ct), "objectId": str(oid)} for ct, oid in related]
    if rel:
        out["related"] = rel
    if idempotency_key:
        out["idempotencyKey"] = idempotency_key
    return out


def _params(filters: Mapping[str, Any] | None) -> dict[str, str]:
    out = {}
    for k, v in (filters or {}).items():
        if v is None:
            continue
        if isinstance(v, _dt.datetime):
            v = rfc3339(v)
        elif isinstance(v, bool):
            v = "true" if v else "false"
        out[k] = str(v)
    return out


def _ref(value: Any) -> dict:
    if isinstance(value, Mapping):
        return {"contentType": str(value.get("contentType", value.get("content_type", ""))),
                "objectId": str(value.get("objectId", value.get("object_id", "")))}
    ct, oid = value
    return {"contentType": str(ct), "objectId": str(oid)}


def _relation(value: Any) -> dict:
    if isinstance(value, Mapping):
        out = {"from": _ref(value["from"]), "to": _ref(value["to"])}
        if value.get("kind"):
            out["kind"] = str(value["kind"])
        return out
    src, dst, *kind = value
    out = {"from": _ref(src), "to": _ref(dst)}
    if kind and kind[0]:
        out["kind"] = str(kind[0])
    return out


class Client:
    """A client of the eventlog REST API at ``url`` (``http://127.0.0.1:8080``).

    ``token`` is an API key, sent as ``Authorization: Bearer``; ``timeout``
    bounds each call in seconds (a stream waits up to ``stream_timeout``
    between lines: the server sends a heartbeat every 15 seconds). Entries
    come back in the API's JSON form: dicts with lowerCamelCase keys, ids as
    strings. Failures raise the exceptions of ``eventlog.errors``; a server
    that cannot be reached raises ``Unavailable``.

    Calls go through one ``requests.Session`` (``session``, or a new one)
    and reuse its connections.
    """

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0, *,
                 stream_timeout: float = 60.0, session: requests.Session | None = None):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.stream_timeout = stream_timeout
        self._session = session or requests.Session()
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # The calls.

    def log(self, type: str, content_type: str, object_id: Any, *, basic: bool = False, **fields) -> dict:
        """Appends one entry (the arguments of ``entry``) and returns the
        ``LogEventResponse``: ``{"event": {...}, "children": [...],
        "childCount": "N"}``; with ``basic=True`` the event holds only its
        id, time, hash and source id."""
        req = entry(type, content_type, object_id, **fields)
        if basic:
            req["view"] = "EVENT_VIEW_BASIC"
        return self._call("POST", "/v1/events", body=req)

    def log_many(self, requests_: Iterable[Mapping], *, basic: bool = False) -> list[dict]:
        """Appends entries made by ``entry`` (1 to 1,000) in one transaction,
        all or none, and returns a ``LogEventResponse`` for each, in order."""
        body: dict[str, Any] = {"requests": list(requests_)}
        if basic:
            body["view"] = "EVENT_VIEW_BASIC"
        return self._call("POST", "/v1/events:batchLog", body=body).get("responses", [])

    def get(self, id: int | str) -> dict:
        """The entry with this id; ``childCount`` (an int) is added to it.
        Raises ``NotFound`` when there is none."""
        resp = self._call("GET", "/v1/events/" + quote(str(id), safe=""))
        event = resp.get("event", {})
        event["childCount"] = int(resp.get("childCount", 0))
        return event

    def list(self, filters: Mapping[str, Any] | None = None, *, page_size: int = 500,
             order_by: str | None = None, **more) -> Iterator[dict]:
        """The entries that match ``filters`` (the query parameters of
        ``ListEvents``: ``event_type``, ``actor``, ``content_type``,
        ``object_id``, ``source_id``, ``start_time``, ``end_time``; datetimes
        are sent in RFC 3339), newest first unless ``order_by="id asc"``,
        following page tokens to the last page."""
        params = _params({**(filters or {}), **more})
        params.setdefault("page_size", str(page_size))
        if order_by:
            params["order_by"] = order_by
        while True:
            page = self._call("GET", "/v1/events", params=params)
            yield from page.get("events", [])
            token = page.get("nextPageToken")
            if not token:
                return
            params["page_token"] = token

    def follow(self, filters: Mapping[str, Any] | None = None, after_id: int | str | None = None, *,
               heartbeats: bool = False, reconnect: bool = True, max_backoff: float = 5.0) -> Iterator[dict]:
        """Follows the log (``StreamEvents`` as newline-delimited JSON):
        with ``after_id``, every stored entry after it, then new entries as
        they commit; without, new entries only. Entries come in id order.

        When the stream breaks (the connection, a server shutting down), it
        is opened again from the last id received, entry or heartbeat, with
        backoff up to ``max_backoff`` seconds: nothing is missed and nothing
        comes twice. ``reconnect=False`` raises ``Unavailable`` instead.
        With ``heartbeats=True`` heartbeats are yielded too, as
        ``{"heartbeat": {"lastId": ..., "time": ...}}``; entries are yielded
        as they are."""
        base = _params(filters)
        last = None if after_id is None else int(after_id)
        backoff = 0.05
        while True:
            params = dict(base)
            if last is not None:
                params["after_id"] = str(last)
            try:
                for item in self._stream("/v1/events:stream", params):
                    if "event" in item:
                        last = int(item["event"].get("id", 0))
                        backoff = 0.05
                        yield item["event"]
                    elif "heartbeat" in item:
                        last = int(item["heartbeat"].get("lastId", 0))
                        backoff = 0.05
                        if heartbeats:
                            yield item
                raise Unavailable("the stream ended")
            except Unavailable:
                if not reconnect:
                    raise
            time.sleep(random.uniform(0, backoff))
            backoff = min(backoff * 2, max_backoff)

    def put_relations(self, relations: Iterable[Any]) -> int:
        """Registers relations, each ``(from, to, kind)`` with ends as
        ``(content_type, object_id)``, or the API's dicts; returns how many
        were new."""
        body = {"relations": [_relation(r) for r in relations]}
        return int(self._call("POST", "/v1/relations:batchPut", body=body).get("created", 0))

    def delete_relations(self, relations: Iterable[Any]) -> int:
        """Removes relations (as ``put_relations`` takes them); returns how
        many there were."""
        body = {"relations": [_relation(r) for r in relations]}
        return int(self._call("POST", "/v1/relations:batchDelete", body=body).get("deleted", 0))

    # The transport.

    def _call(self, method: str, path: str, *, params: Mapping | None = None, body: Any = None) -> dict:
        headers = self._headers
        data = None
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
            data = json.dumps(body, separators=(",", ":")).encode()
        try:
            resp = self._session.request(method, self.url + path, params=params, data=data,
                                         headers=headers, timeout=self.timeout)
        except requests.Timeout as e:
            raise errors.DeadlineExceeded(f"{method} {path}: no answer within {self.timeout}s") from e
        except requests.RequestException as e:
            raise Unavailable(f"{method} {path}: {e}") from e
        if resp.status_code != 200:
            raise _error(resp)
        try:
            return resp.json()
        except ValueError as e:
            raise Unavailable(f"{method} {path}: the answer is not JSON: {resp.text[:200]!r}") from e

    def _stream(self, path: str, params: Mapping) -> Iterator[dict]:
        try:
            resp = self._session.get(self.url + path, params=params, headers=self._headers, stream=True,
                                     timeout=(self.timeout, self.stream_timeout))
        except requests.RequestException as e:
            raise Unavailable(f"GET {path}: {e}") from e
        with resp:
            if resp.status_code != 200:
                raise _error(resp)
            try:
                for line in resp.iter_lines():
                    if not line:
                        continue
                    msg = json.loads(line)
                    if "error" in msg:
                        raise errors.error_from(msg["error"], resp.status_code)
                    yield msg.get("result", {})
            except (requests.RequestException, ValueError) as e:
                raise Unavailable(f"GET {path}: the stream broke: {e}") from e


def _error(resp: requests.Response) -> Error:
    try:
        body = resp.json()
    except ValueError:
        body = resp.text
    return errors.error_from(body, resp.status_code)
