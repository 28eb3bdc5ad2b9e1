"""One error shape for the platform's own HTTP APIs (sidecar, agent).

Every refusal is a 4xx whose body is::

    {"error": {"code": "bad-request", "message": "what is wrong", "fix": "what to do"}}

``fix`` is present only when we know what to do. ``install`` makes a FastAPI app answer this
way for everything it refuses on its own (validation failures, unknown routes, wrong methods,
bodies over the size cap, numbers too large for the store) and caps request bodies. Routes
raise ``ApiError`` (or a domain error mapped with ``map_error``) for their own refusals.

The engine keeps Inngest's wire shape (``{"error": "...", "status": N}``): the official SDKs
read ``error`` as a string, and the engine must answer them exactly as Inngest does. Clients
reading either shape use ``error_message``. See docs/errors.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import fastapi
import fastapi.exceptions
import starlette.exceptions
from fastapi.responses import JSONResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Default request body cap of the platform's APIs (a skill source is at most a few hundred KB).
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "body-too-large",
    415: "unsupported-media-type",
    429: "too-many-requests",
    500: "internal",
    503: "unavailable",
    504: "timeout",
}


def code_for(status: int) -> str:
    return _CODES.get(status, "client-error" if status < 500 else "server-error")


def error_body(code: str, message: str, fix: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fix:
        error["fix"] = fix
    return {"error": error}


def error_response(
    status: int, message: str, *, code: str | None = None, fix: str | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        {**error_body(code or code_for(status), message, fix), **extra}, status_code=status
    )


def error_message(body: object, fallback: str = "") -> str:
    """The human message of an error body in this shape or the engine's (Inngest's)."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("code") or fallback)
            fix = error.get("fix")
            return f"{message} ({fix})" if fix else message
        if isinstance(error, str) and error:
            return error
        if isinstance(body.get("message"), str) and body["message"]:
            return str(body["message"])
    return fallback


class ApiError(Exception):
    """A refusal with its status, stable code, message and (when known) the fix."""

    def __init__(
        self, status: int, message: str, *, code: str | None = None, fix: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or code_for(status)
        self.message = message
        self.fix = fix


def map_error(
    app: fastapi.FastAPI, exc_type: type[Exception], status: int, code: str | None = None
) -> None:
    """Answer ``exc_type`` with ``status`` and the exception's message."""

    async def handle(_: fastapi.Request, exc: Exception) -> JSONResponse:
        return error_response(status, str(exc), code=code or getattr(exc, "code", None))

    app.add_exception_handler(exc_type, handle)


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",)) or "body"
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "json_invalid":
        return "the body is not valid JSON"
    if error.get("type") == "missing":
        return f"{where}: field required"
    return f"{where}: {message}"


def install(app: fastapi.FastAPI) -> None:
    """Answer every refusal FastAPI/Starlette makes itself in the one shape."""

    async def validation(_: fastapi.Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, fastapi.exceptions.RequestValidationError)
        errors = list(exc.errors())
        message = "; ".join(_describe(e) for e in errors[:5]) or "invalid request"
        if len(errors) > 5:
            message += f"; and {len(errors) - 5} more"
        return error_response(
            400, message, code="invalid-request", fix="see the API's schema at /v1/docs"
        )

    async def http(_: fastapi.Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, starlette.exceptions.HTTPException)
        message = str(exc.detail) if exc.detail else code_for(exc.status_code)
        if exc.status_code == 404 and message == "Not Found":
            message = "no such route"
        return error_response(exc.status_code, message)

    async def api_error(_: fastapi.Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.message, code=exc.code, fix=exc.fix)

    async def overflow(_: fastapi.Request, exc: Exception) -> JSONResponse:
        return error_response(400, f"a number is out of range: {exc}", code="out-of-range")

    app.add_exception_handler(fastapi.exceptions.RequestValidationError, validation)
    app.add_exception_handler(starlette.exceptions.HTTPException, http)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(OverflowError, overflow)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413 in the one shape.

    Checks ``Content-Length`` first and counts streamed chunks too, so a chunked upload
    cannot slip past the cap. ``per_path`` gives other caps to exact paths (the SDK serve
    path, whose calls carry a run's step outputs).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        per_path: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope.get("path", ""), self.max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(send, declared, limit)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send, None, limit)

    async def _refuse(self, send: Send, declared: int | None, limit: int) -> None:
        size = _human(declared) if declared is not None else "over the limit"
        response = error_response(
            413,
            f"the request body is {size}; the limit is {_human(limit)}",
            fix="send less (split it, or summarise)",
        )
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "http.response.body", "body": response.body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _human(size: int | None) -> str:
    if size is None:
        return "?"
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"
