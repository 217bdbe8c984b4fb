"""Light pages on slow networks: hashed static URLs cached for good, compressed text."""

import hashlib
import re
import zlib
from pathlib import Path

import flask_admin

from backoffice.static_files import IMMUTABLE

ADMIN_STATIC = Path(flask_admin.__file__).parent / "static"
STATIC = Path(__file__).resolve().parents[1] / "backoffice" / "static"


def _assets(page: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js)\?v=[^"]*)"', page)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def test_static_urls_carry_the_files_content_hash(app, browser, staff):
    page = browser(staff["enroller"], lang="hi").get("/admin/").get_data(as_text=True)
    assets = _assets(page)
    assert assets and len(assets) == len(set(assets))
    bootstrap = [a for a in assets if "bootstrap.min.css?" in a]
    assert len(bootstrap) == 1  # once, not the theme's copy as well
    for asset in assets:
        path, version = asset.split("?v=")
        disk = ADMIN_STATIC / path.removeprefix("/admin/static/") if path.startswith(
            "/admin/static/") else STATIC / path.removeprefix("/static/")
        assert version == _sha(disk), asset
    join = browser(lang="hi").get("/join").get_data(as_text=True)
    assert f"/static/sadasya.css?v={_sha(STATIC / 'sadasya.css')}" in join


def test_a_file_asked_for_by_its_hash_is_cached_for_a_year(app, browser):
    client = browser().client
    version = _sha(STATIC / "sadasya.css")
    answer = client.get(f"/static/sadasya.css?v={version}")
    assert answer.headers["Cache-Control"] == IMMUTABLE == \
        "public, max-age=31536000, immutable"
    for stale in ("", "?v=0123456789ab", "?v=../../x"):
        answer = client.get(f"/static/sadasya.css{stale}")
        assert "immutable" not in answer.headers.get("Cache-Control", ""), stale
    admin_css = "bootstrap/bootstrap4/css/bootstrap.min.css"
    answer = client.get(f"/admin/static/{admin_css}?v={_sha(ADMIN_STATIC / admin_css)}")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == IMMUTABLE


def _decoded(answer) -> bytes:
    encoding = answer.headers.get("Content-Encoding")
    data = answer.get_data()
    if encoding == "gzip":
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompress(data)
    assert encoding is None, encoding
    return data


def test_static_text_and_the_join_pages_are_compressed_admin_pages_are_not(
        app, browser, staff):
    gzip = {"Accept-Encoding": "gzip, deflate"}
    client = browser().client
    css = client.get("/admin/static/bootstrap/bootstrap4/css/bootstrap.min.css", headers=gzip)
    assert css.headers["Content-Encoding"] in ("gzip", "deflate")
    raw = (ADMIN_STATIC / "bootstrap/bootstrap4/css/bootstrap.min.css").read_bytes()
    assert _decoded(css) == raw and len(css.get_data()) < len(raw) / 4
    join = client.get("/join", headers=gzip)
    assert join.headers["Content-Encoding"] == "gzip"
    assert "<html" in _decoded(join).decode()
    admin = browser(staff["state"]).get("/admin/members/?search=x", headers=gzip)
    assert admin.status_code == 200 and "Content-Encoding" not in admin.headers
    posted = browser().post("/join", {"full_name": ""}, token_from="/join", headers=gzip)
    assert "Content-Encoding" not in posted.headers  # an answer that shows what was typed


def test_the_enrollers_pages_load_no_list_scripts(app, browser, staff):
    page = browser(staff["enroller"], lang="hi").get("/admin/members/new/").get_data(
        as_text=True)
    assets = " ".join(_assets(page))
    for heavy in ("select2", "moment", "daterangepicker", "font-awesome", "form.js"):
        assert heavy not in assets, heavy
    assert "jquery" in assets and "bootstrap.min.js" in assets  # the menu on a phone
