"""The middleware: the request context of entries logged during a request,
failed responses, and logins and logouts."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from ..client import _request as request_json
from . import conf
from .models import _clip, actor_of


def _request_context(request) -> dict:
    meta = request.META
    header = getattr(settings, "EVENTLOG_REQUEST_ID_HEADER", "X-Request-Id")
    return {
        "remote_addr": _clip(meta.get("REMOTE_ADDR", ""), 2048),
        "method": _clip(request.method or "", 256),
        "path": _clip(request.get_full_path(), 2048),
        "protocol": _clip(meta.get("SERVER_PROTOCOL", ""), 256),
        "user_agent": _clip(meta.get("HTTP_USER_AGENT", ""), 2048),
        "request_id": _clip(request.headers.get(header, ""), 256),
    }


class EventLogMiddleware:
    """Attaches the request's context (remote address, method, path,
    protocol, status, user agent, request id) to the entries logged while it
    is served, and sends them once the response is made. With
    ``EVENTLOG_LOG_FAILURES``, a response with status 400 or above is logged
    as ``EVENTLOG_FAILURE_TYPE`` on content type ``http.request`` with the
    path as object id; with ``EVENTLOG_LOG_AUTH``, logins, logouts and failed
    logins are logged on the user model's label.

    Put it after ``AuthenticationMiddleware``."""

    def __init__(self, get_response):
        self.get_response = get_response
        if getattr(settings, "EVENTLOG_LOG_AUTH", False):
            user_logged_in.connect(_logged_in, dispatch_uid="eventlog.django.login")
            user_logged_out.connect(_logged_out, dispatch_uid="eventlog.django.logout")
            user_login_failed.connect(_login_failed, dispatch_uid="eventlog.django.login_failed")

    def __call__(self, request):
        scope = conf.RequestScope(_request_context(request))
        token = conf.current.set(scope)
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            conf.current.reset(token)
            if status >= 400 and getattr(settings, "EVENTLOG_LOG_FAILURES", False):
                scope.pending.append(conf.entry(
                    getattr(settings, "EVENTLOG_FAILURE_TYPE", "fetch"), "http.request",
                    _clip(request.path, 512) or "/", actor=actor_of(getattr(request, "user", None))))
            context = request_json({**scope.request, "status": status})
            for req in scope.pending:
                req["event"]["request"] = dict(context)
            conf.send(scope.pending)


def _user_label() -> str:
    return get_user_model()._meta.label


def _logged_in(sender, request, user, **kwargs):
    conf.record("login", _user_label(), user.pk, actor=actor_of(user), object_repr=_clip(str(user), 2048))


def _logged_out(sender, request, user, **kwargs):
    if user is None:
        return
    conf.record("logout", _user_label(), user.pk, actor=actor_of(user), object_repr=_clip(str(user), 2048))


def _login_failed(sender, credentials, request=None, **kwargs):
    field = get_user_model().USERNAME_FIELD
    name = _clip(str(credentials.get(field) or credentials.get("username") or ""), 256)
    conf.record("login_failed", _user_label(), name or "-", actor={"name": name or "unknown", "kind": "user"})
