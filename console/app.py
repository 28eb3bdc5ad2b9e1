"""The console's FastAPI app: login, the guard on every request, error pages, the pages."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import fastapi
from fastapi.responses import PlainTextResponse, RedirectResponse
from starlette.responses import Response

from loopwright.http_errors import DEFAULT_MAX_BODY_BYTES, BodyLimit
from skills_core.capabilities.incidents import IncidentStore

from .assets import IMMUTABLE, REVALIDATE, Assets, HashedStaticFiles, content_hash
from .auth import COOKIE, CSRF_FIELD, CSRF_HEADER, Sessions, csrf_ok, load_or_create_token
from .context import HERE, Console, console_of, make_templates, page
from .live import RunsFeed
from .pages import chat, events, inbox, incidents, overview, review, skills
from .pages import runs as runs_page
from .parts import AgentApi, EngineApi, NotFound, PartDown, Refused, SidecarApi
from .render import highlight_css
from .runs_source import EngineHistoryRuns, RunSource
from .settings import ConsoleSettings

PUBLIC = ("/login", "/static/", "/healthz", "/highlight.css")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class CsrfRejected(Exception):
    pass


def safe_next(target: str | None) -> str:
    """Only a path on this console (no scheme, no host): never an open redirect."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


async def guard(request: fastapi.Request) -> None:
    """Every request but the public ones needs a live session; every change, its CSRF token."""
    path = request.url.path
    if path.startswith(PUBLIC):
        request.state.session = None
        return
    console = console_of(request)
    session = console.sessions.get(request.cookies.get(COOKIE))
    if session is None:
        target = path + (f"?{request.url.query}" if request.url.query else "")
        if request.method not in SAFE_METHODS:
            target = request.headers.get("referer") or "/"
            target = urlsplit(target).path or "/"
        raise LoginRequired(target)
    request.state.session = session
    if request.method in SAFE_METHODS:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not csrf_ok(session, token):
        raise CsrfRejected


def default_runs(settings: ConsoleSettings) -> RunSource:
    """The run ledger when it is installed (what the CLI and the review read), else the
    engine's history API."""
    try:
        from .ledger_runs import LedgerRuns

        return LedgerRuns()
    except ImportError:
        return EngineHistoryRuns(settings.engine_url)


def _platform_store(runs: RunSource) -> Any:
    """The store the run ledger reads (incidents and the review's reports live in the same
    platform store), else the one `loopwright incidents` opens by default; with the tables of
    everything the console reads from it (as the CLI ensures them before reading)."""
    from loopwright.store import open_store

    store = getattr(runs, "store", None)
    store = store if store is not None else open_store()
    with contextlib.suppress(ImportError):
        import review.tables  # noqa: F401  (declares the review's tables)
    store.ensure()
    return store


def build_console(settings: ConsoleSettings, runs: RunSource | None = None) -> Console:
    token, _ = load_or_create_token(settings.token_path)
    source = runs or default_runs(settings)
    store = _platform_store(source)
    return Console(
        settings=settings,
        sessions=Sessions(token, settings.session_ttl_s),
        sidecar=SidecarApi(settings.sidecar_url),
        agent=AgentApi(settings.agent_url),
        engine=EngineApi(settings.engine_url),
        runs=source,
        store=store,
        incidents=IncidentStore(store),
        feed=RunsFeed(source, settings.live_poll_s),
        templates=make_templates(),
    )


def create_app(settings: ConsoleSettings, runs: RunSource | None = None) -> fastapi.FastAPI:
    console = build_console(settings, runs)

    @contextlib.asynccontextmanager
    async def lifespan(_: fastapi.FastAPI) -> AsyncIterator[None]:
        yield
        await console.aclose()

    app = fastapi.FastAPI(
        title="Loopwright console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        dependencies=[fastapi.Depends(guard)],
    )
    app.state.console = console
    # Every API caps its request bodies; the console's largest form (a chat message, an
    # event's JSON) is far below this.
    app.add_middleware(BodyLimit, max_bytes=DEFAULT_MAX_BODY_BYTES)
    assets = Assets(HERE / "static")
    app.mount("/static", HashedStaticFiles(assets, HERE / "static"), name="static")
    _handlers(app)
    _login_routes(app)
    for module in (overview, chat, skills, runs_page, events, incidents, review, inbox):
        app.include_router(module.router)

    css = highlight_css()
    css_hash = content_hash(css.encode())
    console.templates.env.globals.update(
        asset=assets.url, highlight_css_url=f"/highlight.css?v={css_hash}"
    )

    @app.get("/highlight.css", include_in_schema=False)
    def highlight_stylesheet(v: str = "") -> Response:
        cache = IMMUTABLE if v == css_hash else REVALIDATE
        return Response(css, media_type="text/css", headers={"Cache-Control": cache})

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.middleware("http")
    async def security_headers(request: fastapi.Request, call_next: object) -> Response:
        started = time.perf_counter()
        response: Response = await call_next(request)  # type: ignore[operator]
        # How long the console took to answer (for bench/console_pages.py and browser devtools).
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app


def _handlers(app: fastapi.FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: fastapi.Request, exc: LoginRequired) -> Response:
        if request.headers.get("hx-request"):
            resp = Response(status_code=401)
            resp.headers["HX-Redirect"] = f"/login?next={quote(exc.next_url, safe='')}"
            return resp
        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='')}", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: fastapi.Request, _: CsrfRejected) -> Response:
        return page(
            request,
            "error.html",
            403,
            title="Request refused",
            message="This form's security token is missing or stale (CSRF protection). "
            "Reload the page and try again.",
        )

    @app.exception_handler(NotFound)
    async def not_found(request: fastapi.Request, exc: NotFound) -> Response:
        return page(request, "error.html", 404, title="Not found", message=f"Not found: {exc}")

    @app.exception_handler(PartDown)
    async def part_down(request: fastapi.Request, exc: PartDown) -> Response:
        return page(request, "error.html", 503, title=f"The {exc.part} is down", message=str(exc))

    @app.exception_handler(Refused)
    async def refused(request: fastapi.Request, exc: Refused) -> Response:
        return page(request, "error.html", 409, title="Refused", message=str(exc))

    @app.exception_handler(404)
    async def no_route(request: fastapi.Request, _: Exception) -> Response:
        return page(
            request, "error.html", 404, title="Not found", message=f"Not found: {request.url.path}"
        )


def _login_routes(app: fastapi.FastAPI) -> None:
    @app.get("/login")
    def login_form(request: fastapi.Request, next: str = "/") -> Response:
        return page(request, "login.html", next=safe_next(next), error=None)

    @app.post("/login")
    def login(
        request: fastapi.Request,
        token: Annotated[str, fastapi.Form()] = "",
        user: Annotated[str, fastapi.Form()] = "",
        next: Annotated[str, fastapi.Form()] = "/",
    ) -> Response:
        console = console_of(request)
        if not console.sessions.token_ok(token):
            return page(
                request,
                "login.html",
                401,
                next=safe_next(next),
                error="That token is not this console's login token. It was printed when the "
                f"console first started and is kept in {console.settings.token_path}.",
            )
        sid = console.sessions.open(user)
        resp = RedirectResponse(safe_next(next), status_code=303)
        resp.set_cookie(
            COOKIE, sid, httponly=True, samesite="strict", path="/",
            max_age=int(console.settings.session_ttl_s),
        )  # fmt: skip
        return resp

    @app.post("/logout")
    def logout(request: fastapi.Request) -> Response:
        console = console_of(request)
        console.sessions.close(request.cookies.get(COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/")
        return resp
