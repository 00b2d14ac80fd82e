"""The model mixin: ``log_create``, ``log_edit``, ``log_delete`` and
``log_fetch``, as CRADLE's models had them."""

from __future__ import annotations

from typing import Any

from .conf import record


def _clip(s: str, limit: int) -> str:
    """s cut to at most limit bytes of UTF-8, on a character boundary."""
    b = s.encode()
    if len(b) <= limit:
        return s
    return b[:limit].decode(errors="ignore")


def actor_of(user: Any) -> dict:
    """The actor of a Django user: its pk and username, kind user. None is
    the system; an anonymous user is ``anonymous``."""
    if user is None:
        return {"name": "system", "kind": "system"}
    if not getattr(user, "is_authenticated", False):
        return {"name": "anonymous", "kind": "user"}
    return {"id": _clip(str(user.pk), 256), "name": _clip(user.get_username(), 256), "kind": "user"}


def object_of(instance: Any) -> tuple[str, str, str]:
    """(content type, object id, repr) of a model instance: the class's
    ``eventlog_content_type`` or the model's label (``notes.Note``), its pk,
    and ``str()`` of it."""
    ct = getattr(instance, "eventlog_content_type", None) or instance._meta.label
    if instance.pk is None:
        raise ValueError(f"{ct}: the instance has no primary key (log a deletion before delete())")
    return ct, _clip(str(instance.pk), 512), _clip(str(instance), 2048)


class EventLogMixin:
    """Gives a model the logging methods of CRADLE's models. Each records
    who (``user``, a Django user; None for the system) did what to this
    instance, with ``details`` (a JSON object) and, during a request, the
    request's context. Set ``eventlog_content_type`` on the class to log
    under another content type than the model's label. ``related`` names
    (content type, object id) pairs this entry alone propagates to; the
    relations registered on the server apply in any case."""

    eventlog_content_type: str | None = None

    def _eventlog(self, type: str, user: Any, details: dict | None, related=()) -> None:
        ct, oid, repr_ = object_of(self)
        record(type, ct, oid, actor=actor_of(user), object_repr=repr_, details=details, related=related)

    def log_create(self, user: Any, details: dict | None = None, *, related=()) -> None:
        self._eventlog("create", user, details, related)

    def log_edit(self, user: Any, details: dict | None = None, *, related=()) -> None:
        self._eventlog("edit", user, details, related)

    def log_delete(self, user: Any, details: dict | None = None, *, related=()) -> None:
        """Call it before ``delete()``, which clears the primary key."""
        self._eventlog("delete", user, details, related)

    def log_fetch(self, user: Any, details: dict | None = None, *, related=()) -> None:
        self._eventlog("fetch", user, details, related)
