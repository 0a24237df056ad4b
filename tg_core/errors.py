"""Errors as values: a code, a message and the HTTP status the server renders them with.

The core raises these; `tg_server` renders each one once, in a middleware, as
`{"error": {"code": ..., "message": ...}}`.
"""


class TGError(Exception):
    """Base error: a machine-readable `code`, a human `message`, and an HTTP `status`."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def to_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(TGError):
    """The request is malformed or has values of the wrong type or range."""


class NotFound(TGError):
    status = 404
    code = "not_found"


class Conflict(TGError):
    status = 409
    code = "conflict"


class QueryError(BadRequest):
    """A query2 program that cannot be parsed or run; the message points at the problem."""

    code = "query_error"
