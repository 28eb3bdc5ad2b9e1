"""Static assets under content-hashed URLs, so browsers may keep them for good.

Every file under ``static/`` is hashed once at start; templates link ``asset("console.css")``
→ ``/static/console.css?v=<hash>``. A request carrying the current hash is answered with
``Cache-Control: immutable`` (the URL changes whenever the bytes do: a new pinned vendor
version or an edited stylesheet), so a page load needs no revalidation round trip for its
stylesheets and scripts; any other request revalidates (``no-cache``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


class Assets:
    """The hash of every static file, and the URL that names it."""

    def __init__(self, root: Path, prefix: str = "/static") -> None:
        self.prefix = prefix
        self.hashes = {
            str(path.relative_to(root)): content_hash(path.read_bytes())
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }

    def url(self, name: str) -> str:
        if name not in self.hashes:
            raise KeyError(f"no static asset {name!r} under console/static/")
        return f"{self.prefix}/{name}?v={self.hashes[name]}"

    def current(self, name: str, query: bytes) -> bool:
        asked = parse_qs(query.decode("latin-1")).get("v", [""])[0]
        return bool(asked) and asked == self.hashes.get(name)


class HashedStaticFiles(StaticFiles):
    """``StaticFiles`` whose answers to current hashed URLs are cacheable for good."""

    def __init__(self, assets: Assets, directory: Path) -> None:
        super().__init__(directory=directory)
        self.assets = assets

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            current = self.assets.current(path, scope.get("query_string", b""))
            response.headers["Cache-Control"] = IMMUTABLE if current else REVALIDATE
        return response
