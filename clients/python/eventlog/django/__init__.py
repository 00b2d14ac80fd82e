"""Django integration: a model mixin with the methods CRADLE's models used,
and middleware that attaches each request's context to the entries logged
while it is served.

Settings:

- ``EVENTLOG_URL``: the REST API (``http://127.0.0.1:8080``); required.
- ``EVENTLOG_TOKEN``: an API key with the write scope, if the server wants one.
- ``EVENTLOG_TIMEOUT``: seconds a call may take (10).
- ``EVENTLOG_BACKGROUND``: send through a background ``eventlog.Logger``
  (True, the default), or synchronously (False: a failure raises).
- ``EVENTLOG_LOGGER``: keyword arguments of ``eventlog.Logger``.
- ``EVENTLOG_LOG_FAILURES``: log responses with status 400 and above (False).
- ``EVENTLOG_FAILURE_TYPE``: their event type (``"fetch"``).
- ``EVENTLOG_LOG_AUTH``: log logins, logouts and failed logins from Django's
  auth signals (False).
- ``EVENTLOG_REQUEST_ID_HEADER``: the header holding a request id
  (``"X-Request-Id"``).

Propagation to related objects is the server's: register relations and
rules there.
"""

from .conf import flush, get_client, get_logger, record
from .middleware import EventLogMiddleware
from .models import EventLogMixin, actor_of, object_of

__all__ = ["EventLogMiddleware", "EventLogMixin", "actor_of", "object_of", "flush", "get_client",
           "get_logger", "record"]
