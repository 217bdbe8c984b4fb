"""Static files for slow phone networks: content-hashed URLs cached for a year, and
compressed text.

Every ``url_for('static', ...)`` and Flask-Admin's ``/admin/static/...`` URL
gets ``?v=`` and the first 12 hex digits of the file's SHA-256 (the path on
disk is unchanged, so nginx serves the same files: deploy/nginx). A request
whose ``v`` is the file's current hash is answered with ``Cache-Control:
public, max-age=31536000, immutable``: a browser never asks again, and a
changed file has a new URL. Anything else (no ``v``, an old one) is
revalidated as before.

Compression (Flask-Compress: zstd, Brotli, gzip or deflate, whichever the
browser takes): CSS, JavaScript, SVG and fonts when the app serves them itself
(the demo, the browser tests; nginx does it in production), and the HTML of the
public /join pages, answers to GET only. Other HTML is not compressed: an admin
page can show personal data beside text an attacker can put in its URL (a
search), which compression would let them guess byte by byte (BREACH). The
/join pages show no one else's data and reflect nothing from a URL, and a CSRF
token is signed anew every second, so nothing there can be guessed so.
"""

from __future__ import annotations

import hashlib
import os

from flask import Flask, current_app, request
from flask_compress import Compress
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
HASH_DIGITS = 12
#: what may be compressed (the module's docstring says when HTML is)
COMPRESSED_TYPES = ["text/html", "text/css", "application/javascript", "text/javascript",
                    "image/svg+xml", "font/ttf", "application/x-font-ttf", "text/plain"]
#: the blueprints whose pages are compressed: public, nothing personal, nothing reflected
COMPRESSED_PAGES = frozenset({"join"})

compress = Compress()


def _folders(app: Flask) -> dict[str, str]:
    """The static endpoints and their folders: the app's and each blueprint's (some
    twenty, Flask-Admin's views included), found once per app and set of blueprints:
    a page asks for ten static URLs."""
    kept = app.extensions.get("static_folders")
    if kept is not None and kept[0] == len(app.blueprints):
        return kept[1]
    folders = {"static": app.static_folder} if app.static_folder else {}
    for name, blueprint in app.blueprints.items():
        if blueprint.has_static_folder:
            folders[f"{name}.static"] = blueprint.static_folder
    app.extensions["static_folders"] = (len(app.blueprints), folders)
    return folders


def file_path(endpoint: str, filename: str) -> str | None:
    """The file's path on disk, or None for an endpoint that serves no static files or
    a name outside its folder."""
    folder = _folders(current_app._get_current_object()).get(endpoint)
    return safe_join(folder, filename) if folder and filename else None


def file_hash(endpoint: str, filename: str) -> str | None:
    """The file's content hash (cached per process, read again when it changes), or
    None for an endpoint or file that is not a static file."""
    path = file_path(endpoint, filename)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    cache = current_app.extensions.setdefault("static_hashes", {})
    key = (stat.st_mtime_ns, stat.st_size)
    cached = cache.get(path)
    if cached is None or cached[0] != key:
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()[:HASH_DIGITS]
        cached = cache[path] = (key, digest)
    return cached[1]


def _add_hash(endpoint: str, values: dict) -> None:
    """url_for: a static file's URL carries its hash (replacing a version a template
    wrote, such as Flask-Admin's v='4.6.2', which does not change with the file)."""
    if endpoint == "static" or endpoint.endswith(".static"):
        digest = file_hash(endpoint, values.get("filename", ""))
        if digest:
            values["v"] = digest


def _cache_for_good(response):
    """A year, immutable, for a static file asked for by its current hash."""
    endpoint = request.endpoint or ""
    if (_is_static() and response.status_code in (200, 304)
            and request.args.get("v")
            and request.args.get("v") == file_hash(endpoint,
                                                   (request.view_args or {}).get("filename", ""))):
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers.pop("Expires", None)
    return response


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def _compress(response):
    """Static text, and the public pages' HTML answering a GET (module docstring)."""
    if _is_static():
        if response.status_code != 200:  # a range (206) or not modified (304): as is
            return response
        # Read the file into the response (closed when the response is), so it is
        # compressed whole, not as a stream whose file would be left to the collector.
        response.direct_passthrough = False
        response.make_sequence()
        return compress.after_request(response)
    if request.blueprint in COMPRESSED_PAGES and request.method == "GET":
        return compress.after_request(response)
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config["COMPRESS_REGISTER"] = False  # _compress decides what is compressed
    compress.init_app(app)
    app.url_defaults(_add_hash)
    app.after_request(_compress)
    app.after_request(_cache_for_good)  # runs first: after_request goes last to first
