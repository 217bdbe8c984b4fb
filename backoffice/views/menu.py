"""The admin menu bar, drawn once per language, page and set of entries a user may open.

Flask-Admin draws the menu on every page: for each entry its access check, its
address and its translated name, through a Jinja macro; on the enroller's
phone pages that was about a sixth of the page's time. What it draws depends on
nothing else, so the HTML is kept per app, keyed by exactly that: the language,
the page's view (the active entry), the script root, and which entries this
user may open (each view's own is_accessible and is_visible, decided per request
as before). Nothing of the user is in the HTML.
"""

from __future__ import annotations

from flask import Flask, request

from backoffice.i18n import current_language
from backoffice.views.page_parts import kept_per_app

_KEPT = 512  # menus kept per app


def menu_html(admin_view, draw):
    """``draw``: Flask-Admin's layout.menu macro (called when the menu is not kept)."""
    entries = []
    for item in admin_view.admin.menu():
        if item.is_category():
            entries.append(tuple(id(child) for child in item.get_children()))
        else:
            entries.append(bool(item.is_accessible() and item.is_visible()))
    key = (current_language(), admin_view.endpoint, request.script_root, tuple(entries))
    return kept_per_app("admin_menus", key, draw, _KEPT)  # draw: a macro, so Markup


def init_app(app: Flask) -> None:
    app.jinja_env.globals["menu_html"] = menu_html
