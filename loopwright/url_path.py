"""Ids in request paths: each one percent-encoded as a single path segment.

An id typed by a person or sent to the console can hold ``?``, ``#`` or a control character;
put into a path as is, it starts a query, or makes the HTTP client raise before any request
is made (a console 500, a CLI traceback). Encoded, it is just an id the server does not know:
a 404. (A ``/`` is encoded too, but ASGI servers decode ``%2F`` before routing.)
"""

from __future__ import annotations

from urllib.parse import quote


def segment(value: str) -> str:
    return quote(str(value), safe="")
