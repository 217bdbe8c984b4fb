"""What every page draws the same way, found with less work: its translated texts
and its static files' URLs.

A phone page of the enroller's draws some twenty texts and ten script and style
URLs. Jinja's gettext, as Flask-Babel installs it, passes the whole template
context (copied when the calling block has variables of its own) and asks
Flask-Babel for the locale's catalog anew for each text; a static URL is a
url_for through the URL map and the file's content hash (static_files.py).
Here the catalog is looked up once per request, and a static file's URL is kept
per app until the file changes.
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_app_context, request, url_for
from flask_babel import get_locale, get_translations
from jinja2 import pass_eval_context
from markupsafe import Markup

from backoffice import static_files


def _page_translations():
    """This request's catalog, looked up once per locale."""
    if not has_app_context():
        return get_translations()
    locale = get_locale()
    kept = g.get("_page_translations")
    if kept is None or kept[0] is not locale:  # a new request, or flask_babel.refresh()
        kept = g._page_translations = (locale, get_translations())
    return kept[1]


@pass_eval_context
def template_gettext(eval_ctx, string, /, **variables):
    """``_()`` and ``gettext()`` in templates, as Jinja's "newstyle" gettext that
    Flask-Babel installs: the translation, markup in an autoescaped template,
    formatted with the (escaped) variables, "%%" written as "%"."""
    text = _page_translations().ugettext(string)
    if eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - our catalog's text, as Jinja's gettext does
    return text % variables if variables or "%" in text else text


@pass_eval_context
def template_ngettext(eval_ctx, singular, plural, num, /, **variables):
    variables.setdefault("num", num)
    text = _page_translations().ungettext(singular, plural, num)
    if eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 - our catalog's text, as Jinja's gettext does
    return text % variables


def kept_per_app(name: str, key, draw, bound: int):
    """What ``draw()`` makes for ``key``, kept per app in ``extensions[name]`` for the
    app's life: for what depends on nothing but the key (a page part drawn the same for
    every user). At most ``bound`` keys; past it, drawn every time (a bound, not an LRU).
    A key of None is never kept."""
    if key is None:
        return draw()
    kept = current_app.extensions.setdefault(name, {})
    found = kept.get(key)
    if found is None:
        found = draw()
        if len(kept) < bound:
            kept[key] = found
    return found


_KEPT = 256  # static URLs kept per app


def static_url(endpoint: str, filename: str, **values) -> str:
    """``url_for(endpoint, filename=filename, **values)`` for a static file, kept per
    app under the file's content hash (static_files.file_hash, which notices a changed
    file): a changed file is a new key, so nothing kept needs invalidating."""
    digest = static_files.file_hash(endpoint, filename)
    if digest is None:  # not a static file: url_for decides what it is
        return url_for(endpoint, filename=filename, **values)
    key = (request.script_root, endpoint, filename, digest, tuple(sorted(values.items())))
    return kept_per_app("static_urls", key,  # url_for adds v=<hash>
                        lambda: url_for(endpoint, filename=filename, **values), _KEPT)


class StaticFiles:
    """Flask-Admin's admin/static.html for templates, ``admin_static.url(filename=...)``,
    through static_url."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def url(self, filename: str, **values) -> str:
        return static_url(self.endpoint, filename, **values)


def init_app(app: Flask) -> None:
    # after Flask-Babel's (i18n.init_app): the same texts
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext,
                                 ngettext=template_ngettext, static_url=static_url,
                                 static_files=StaticFiles)
