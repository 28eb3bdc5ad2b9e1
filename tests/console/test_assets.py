"""Static assets under content-hashed URLs: cacheable for good only at the current hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from console.assets import IMMUTABLE, REVALIDATE, Assets, HashedStaticFiles


@pytest.fixture
def static(tmp_path: Path) -> Path:
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "lib.js").write_text("var pinned = 1;\n")
    (tmp_path / "app.css").write_text("body { color: black }\n")
    return tmp_path


def client(static: Path) -> tuple[TestClient, Assets]:
    assets = Assets(static)
    app = Starlette(routes=[Mount("/static", HashedStaticFiles(assets, static))])
    return TestClient(app), assets


def test_the_current_hash_is_immutable_any_other_url_revalidates(static: Path) -> None:
    http, assets = client(static)
    url = assets.url("vendor/lib.js")
    assert url.startswith("/static/vendor/lib.js?v=")
    assert http.get(url).headers["cache-control"] == IMMUTABLE
    assert http.get("/static/vendor/lib.js").headers["cache-control"] == REVALIDATE
    assert http.get("/static/vendor/lib.js?v=0123456789ab").headers["cache-control"] == REVALIDATE
    assert http.get("/static/nothing.js").status_code == 404


def test_changed_bytes_get_a_new_url(static: Path) -> None:
    before = Assets(static).url("app.css")
    (static / "app.css").write_text("body { color: red }\n")
    after = Assets(static).url("app.css")
    assert before != after


def test_an_unknown_asset_is_named(static: Path) -> None:
    with pytest.raises(KeyError, match=r"no static asset 'missing\.js'"):
        Assets(static).url("missing.js")
