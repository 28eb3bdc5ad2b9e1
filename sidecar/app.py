"""The sidecar's own Inngest app: the SDK's FastAPI integration, swapped atomically.

A ``FunctionSet`` turns one ``Catalog`` into real ``inngest`` functions (config from each
version's ``FunctionSpec.to_sdk_kwargs()``, handler ``Runner.handle``) and serves them with
``inngest.fast_api.serve`` on a FastAPI app holding the *registered* functions (it answers the
sync ``PUT`` and introspection ``GET``), and hands the engine's ``POST`` calls for the *served*
functions (archived ones with runs in flight included) to the SDK through a ``CallEndpoint``
(``call_endpoint.py``: the same as FastAPI's endpoint, without its stack).

``SkillsApp`` is the ASGI app at the serve path. It holds the current ``FunctionSet`` and
reads it once per request, so ``swap`` is one assignment: requests already running finish on
the object they started with, new ones see the new set.

The platform's own functions (the run ledger's listener) are registered in every set too.
A sentinel function (``loopwright-sidecar``, triggered by ``loopwright/sidecar.ping``) is
always registered: the SDK refuses to sync an app with no functions, and removing the last
skill must still be a successful sync.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import fastapi
import inngest
import inngest.fast_api

from loopwright.http_errors import Receive, Scope, Send
from sidecar.facade.payload import JSON

from .call_endpoint import CallEndpoint
from .catalog import Catalog, Entry
from .execution import Runner, Target

SENTINEL_FN_ID = "loopwright-sidecar"
SENTINEL_EVENT = "loopwright/sidecar.ping"

#: A function of the platform itself, registered beside the skills in every set (the ledger's).
PlatformFunction = Callable[[inngest.Inngest], inngest.Function[Any]]


def sdk_function(client: inngest.Inngest, entry: Entry, runner: Runner) -> inngest.Function[Any]:
    target = Target(entry.skill_id, entry.candidate_fn_id or entry.fn_id, entry.version)
    if entry.shadow is not None:
        target = dataclasses.replace(target, shadow=entry.shadow)

    def handler(ctx: inngest.ContextSync) -> JSON:
        return runner.handle(ctx, target)

    kwargs = entry.spec.to_sdk_kwargs()
    if entry.spec.on_failure:
        failure = dataclasses.replace(target, failure=True)

        def on_failure(ctx: inngest.ContextSync) -> JSON:
            return runner.handle(ctx, failure)

        kwargs["on_failure"] = on_failure
    function: inngest.Function[Any] = client.create_function(**kwargs)(handler)
    return function


def sentinel_function(client: inngest.Inngest) -> inngest.Function[Any]:
    @client.create_function(
        fn_id=SENTINEL_FN_ID,
        name="Loopwright sidecar",
        trigger=inngest.TriggerEvent(event=SENTINEL_EVENT),
    )
    def ping(ctx: inngest.ContextSync) -> JSON:
        return {"ok": True}

    return ping


class FunctionSet:
    """The SDK functions of one catalog and the two apps that serve them."""

    def __init__(
        self,
        client: inngest.Inngest,
        catalog: Catalog,
        runner: Runner,
        serve_path: str,
        platform: Sequence[PlatformFunction] = (),
    ) -> None:
        self.catalog = catalog
        always = [sentinel_function(client), *(make(client) for make in platform)]
        functions = {e.fn_id: sdk_function(client, e, runner) for e in catalog.entries}
        registered = [*always, *(functions[e.fn_id] for e in catalog.registered())]
        served = [*always, *functions.values()]
        self.sync_app = fastapi.FastAPI(openapi_url=None)
        inngest.fast_api.serve(self.sync_app, client, registered, serve_path=serve_path)
        self.call_app = CallEndpoint(client, served, serve_path)


class SkillsApp:
    """ASGI app at the serve path: routes to the current ``FunctionSet``."""

    def __init__(self, initial: FunctionSet) -> None:
        self.current = initial

    def swap(self, new: FunctionSet) -> FunctionSet:
        old, self.current = self.current, new
        return old

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        current = self.current  # read once: this request finishes on this set
        app = current.call_app if scope.get("method") == "POST" else current.sync_app
        await app(scope, receive, send)
