"""The engine's calls (``POST`` at the serve path) handed to the SDK without FastAPI.

``inngest.fast_api.serve`` answers a call through FastAPI's whole stack (error and exception
middleware, an exit stack, routing, dependency solving) before its endpoint does what this
class does: build the SDK's ``CommRequest`` from the request, let the SDK's ``CommHandler``
serve it, and write its ``CommResponse`` back. That stack cost about a quarter of a
millisecond a call, on every step of every skill run. ``CallEndpoint`` does the same from
the raw ASGI scope: the same request fields (header and query names as Starlette gives them,
the last of repeated ones winning), the same response (body, headers, status; a streamed
response streamed), and what FastAPI would answer when the SDK's handler raises (``500``).
The sync ``PUT`` and introspection ``GET`` still go through ``inngest.fast_api.serve``.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Sequence
from typing import Any

import inngest
import starlette.requests
import starlette.responses
from inngest._internal import comm_lib, server_lib, transforms

from loopwright.http_errors import Receive, Scope, Send

log = logging.getLogger("loopwright.sidecar")


class CallEndpoint:
    def __init__(
        self,
        client: inngest.Inngest,
        functions: Sequence[inngest.Function[Any]],
        serve_path: str,
    ) -> None:
        self.client = client
        self.serve_path = serve_path
        # As ``inngest.fast_api.serve`` builds it with its defaults (``None``: from the env).
        self.handler = comm_lib.CommHandler(
            client=client,
            enable_unauthed_sync=None,
            framework=server_lib.Framework.FAST_API,
            functions=list(functions),
            streaming=None,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = starlette.requests.Request(scope, receive)  # what middleware gets as raw
        try:
            answer = await self.handler.post(
                comm_lib.CommRequest(
                    body=await request.body(),
                    headers=_last_wins(scope["headers"]),
                    public_path=None,
                    query_params=dict(
                        urllib.parse.parse_qsl(
                            scope["query_string"].decode("latin-1"), keep_blank_values=True
                        )
                    ),
                    raw_request=request,
                    request_url=str(request.url),
                    serve_origin=None,
                    serve_path=self.serve_path,
                )
            )
        except Exception:  # FastAPI's ServerErrorMiddleware would answer the same
            log.exception("the SDK failed to serve a call")
            response: starlette.responses.Response = starlette.responses.PlainTextResponse(
                "Internal Server Error", status_code=500
            )
        else:
            response = self._response(answer)
        await response(scope, receive, send)

    def _response(self, answer: comm_lib.CommResponse) -> starlette.responses.Response:
        """``inngest.fast_api``'s ``_to_response``, as a Starlette response."""
        if answer.stream is not None:
            return starlette.responses.StreamingResponse(
                answer.stream(), headers=answer.headers, status_code=answer.status_code
            )
        body = transforms.dump_json(answer.body)
        if isinstance(body, Exception):
            answer = comm_lib.CommResponse.from_error(self.client.logger, body)
            body = json.dumps(answer.body)
        return starlette.responses.Response(
            content=body.encode("utf-8"), headers=answer.headers, status_code=answer.status_code
        )


def _last_wins(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers as ``dict(starlette_request.headers.items())`` gives them."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}
