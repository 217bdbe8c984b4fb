"""Member photos, served only to staff who may see the member.

The route reads the member through the view's scoped query (the same one the
details page uses), so a photo outside the viewer's units, a member without
one and an id that is not an id all answer the same 404.
"""

from __future__ import annotations

from flask import abort, g, make_response, request
from flask_admin import expose
from flask_babel import gettext as _
from markupsafe import Markup, escape

from backoffice.services import photos

CACHE_SECONDS = 3600  # the URL carries the photo's hash: a new photo is a new URL


def photo_cell(view, context, model, name):
    """The list's photo column: a small lazy-loaded image, or nothing."""
    if not model.photo_sha256:
        return ""
    if context is None:  # exports: no picture
        return ""
    base = g.get("_photo_url")
    if base is None:  # url_for and gettext once per page, not once per row
        base = g._photo_url = escape(view.get_url(".photo_file"))
        g._photo_alt = escape(_("Member's photo"))
    return Markup(  # noqa: S704 - every value escaped above or an int
        f'<img class="member-photo" src="{base}?id={int(model.id)}&amp;'
        f'v={escape(model.photo_sha256[:12])}" loading="lazy" decoding="async" '
        f'width="48" height="48" alt="{g._photo_alt}">')


class PhotoMixin:
    """/photo/file/?id=: the member's photo, for views whose get_one is scoped."""

    @expose("/photo/file/")
    def photo_file(self):
        member = self.get_one(request.args.get("id", ""))
        stored = photos.read(member.photo_path) if member is not None else None
        if stored is None:
            abort(404)
        response = make_response(stored.data)
        response.content_type = stored.content_type
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response.headers["Content-Disposition"] = "inline"
        response.cache_control.private = True
        response.cache_control.max_age = CACHE_SECONDS
        response.set_etag(stored.sha256)
        return response.make_conditional(request)
