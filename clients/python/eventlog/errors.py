"""Exceptions raised by the client, one per gRPC code the API returns.

The REST API answers an error with ``{"code": N, "message": ..., "details":
[...]}`` where ``code`` is the gRPC code and, for bad input, a
``google.rpc.BadRequest`` detail names the field. ``error_from`` turns such an
answer into the matching exception.
"""

from __future__ import annotations

from typing import Any


class Error(Exception):
    """An error of the eventlog API: ``code`` is the gRPC code, ``message``
    the server's message, ``details`` its details and ``http_status`` the
    HTTP status (0 when the request got no answer)."""

    code = 2  # UNKNOWN

    def __init__(self, message: str, *, code: int | None = None, details: list | None = None,
                 http_status: int = 0):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or []
        self.http_status = http_status

    def __str__(self) -> str:
        return f"{_NAMES.get(self.code, self.code)}: {self.message}"


class InvalidArgument(Error):
    """The request is invalid; ``field`` is the path of the first field the
    server named (``requests[3].event.content_type``), or ``""``."""

    code = 3

    @property
    def field(self) -> str:
        violations = self.field_violations
        return violations[0][0] if violations else ""

    @property
    def field_violations(self) -> list[tuple[str, str]]:
        """(field, description) pairs of the google.rpc.BadRequest details."""
        out = []
        for d in self.details:
            if isinstance(d, dict) and d.get("@type", "").endswith("google.rpc.BadRequest"):
                for v in d.get("fieldViolations") or []:
                    out.append((v.get("field", ""), v.get("description", "")))
        return out


class DeadlineExceeded(Error):
    code = 4


class NotFound(Error):
    code = 5


class AlreadyExists(Error):
    """An idempotency key used before with a different request."""

    code = 6


class PermissionDenied(Error):
    code = 7


class ResourceExhausted(Error):
    code = 8


class FailedPrecondition(Error):
    code = 9


class Internal(Error):
    code = 13


class Unavailable(Error):
    """The server cannot be reached, is shutting down or cannot reach its
    database: the call may pass later. Writes retried with the same
    idempotency key are stored once."""

    code = 14


class Unauthenticated(Error):
    code = 16


_NAMES = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}

_BY_CODE: dict[int, type[Error]] = {
    c.code: c for c in (InvalidArgument, DeadlineExceeded, NotFound, AlreadyExists, PermissionDenied,
                        ResourceExhausted, FailedPrecondition, Internal, Unavailable, Unauthenticated)
}

# The gRPC code of an HTTP status, for answers that carry no JSON error
# (a proxy in between, a server of another kind).
_BY_HTTP = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 413: 8, 415: 3, 429: 8, 431: 8,
            500: 13, 502: 14, 503: 14, 504: 4}

# Codes a retry does not change: the server refused the request itself.
REFUSALS = frozenset({3, 6, 7, 9, 11, 12, 16})


def error_from(body: Any, http_status: int = 0) -> Error:
    """The exception for an error answer: ``body`` is the decoded JSON (or
    anything else when the answer was not JSON)."""
    if isinstance(body, dict) and isinstance(body.get("code"), int):
        code = body["code"]
        message = str(body.get("message", ""))
        details = body.get("details") if isinstance(body.get("details"), list) else []
    else:
        code = _BY_HTTP.get(http_status, 14 if http_status >= 500 else 2)
        message = f"HTTP {http_status}" + (f": {str(body)[:200]}" if body else "")
        details = []
    cls = _BY_CODE.get(code, Error)
    return cls(message, code=code, details=details, http_status=http_status)
