"""eventlog: the Python client of the eventlog audit log service.

    import eventlog
    log = eventlog.Client("http://127.0.0.1:8080")
    log.log("edit", "Note", 42, actor={"id": 7, "name": "bob", "kind": "user"})

``Client`` calls the REST API; ``Logger`` sends entries in the background,
in batches; ``eventlog.django`` logs a Django application's models and
requests.
"""

from .client import Client, entry, event_type, rfc3339
from .errors import (AlreadyExists, DeadlineExceeded, Error, FailedPrecondition, Internal, InvalidArgument,
                     NotFound, PermissionDenied, ResourceExhausted, Unauthenticated, Unavailable)
from .logger import Closed, Dropped, Logger, LoggerStats

__version__ = "0.1.0"

__all__ = [
    "Client", "entry", "event_type", "rfc3339",
    "Error", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
    "ResourceExhausted", "FailedPrecondition", "Internal", "Unavailable", "Unauthenticated",
    "Logger", "LoggerStats", "Dropped", "Closed",
]
