"""The client and Logger of the Django settings, and ``record``, through
which every entry of the integration goes."""

from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from ..client import Client, entry
from ..logger import Logger

_lock = threading.Lock()
_client: Client | None = None
_logger: Logger | None = None


def _setting(name: str, default: Any = None) -> Any:
    return getattr(settings, name, default)


def get_client() -> Client:
    """The Client of ``EVENTLOG_URL``, ``EVENTLOG_TOKEN`` and
    ``EVENTLOG_TIMEOUT``."""
    global _client
    with _lock:
        if _client is None:
            url = _setting("EVENTLOG_URL")
            if not url:
                raise ImproperlyConfigured("EVENTLOG_URL: the eventlog REST API, such as http://127.0.0.1:8080")
            _client = Client(url, token=_setting("EVENTLOG_TOKEN"), timeout=_setting("EVENTLOG_TIMEOUT", 10.0))
        return _client


def get_logger() -> Logger:
    """The background Logger of the settings (``EVENTLOG_LOGGER`` holds its
    keyword arguments)."""
    global _logger
    client = get_client()
    with _lock:
        if _logger is None:
            _logger = Logger(client, **_setting("EVENTLOG_LOGGER", {}))
        return _logger


def flush(timeout: float | None = None) -> None:
    """Waits until the entries logged so far are stored (in the background
    mode; a no-op otherwise)."""
    if _logger is not None:
        _logger.flush(timeout)


def _reset(*, setting: str = "", **kwargs) -> None:
    global _client, _logger
    if not setting.startswith("EVENTLOG_"):
        return
    with _lock:
        logger, _logger, _client = _logger, None, None
    if logger is not None:
        logger.close()


setting_changed.connect(_reset, dispatch_uid="eventlog.django.reset")


@dataclass
class RequestScope:
    """What the middleware knows of the request being served, and the
    entries logged while it is: they are sent when its status is known."""

    request: dict
    pending: list = field(default_factory=list)


current: contextvars.ContextVar[RequestScope | None] = contextvars.ContextVar("eventlog_request", default=None)


def record(type: str, content_type: str, object_id: Any, *, actor: Any, **fields) -> None:
    """Logs an entry (the arguments of ``eventlog.entry``). During a request
    served through ``EventLogMiddleware`` the entry waits for the response,
    to carry the request context and its status; otherwise it is sent now."""
    req = entry(type, content_type, object_id, actor=actor, **fields)
    scope = current.get()
    if scope is not None:
        scope.pending.append(req)
        return
    send([req])


def send(reqs: list[dict]) -> None:
    if not reqs:
        return
    if _setting("EVENTLOG_BACKGROUND", True):
        logger = get_logger()
        for req in reqs:
            logger.log(req)
    else:
        client = get_client()
        for i in range(0, len(reqs), 1000):
            client.log_many(reqs[i:i + 1000], basic=True)
