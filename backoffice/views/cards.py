"""The public card checker (/check) and the card a member's SMS link opens (/card/<token>).

/check, its script, its service worker, the public key and the revocation list carry
no personal data: they are the same for everyone and may be cached. /card/<token> opens
one member's card and nothing else, without a login, while the link's signature holds
and it is younger than CARD_LINK_DAYS; answers are rate-limited per address and
audited (card.viewed) with the member's id only.
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
)
from flask_login import current_user, login_required

from backoffice import audit
from backoffice.auth import scoping
from backoffice.auth.roles import MEMBER_VIEW
from backoffice.extensions import db, limiter
from backoffice.models import Member
from backoffice.security import allows_camera
from backoffice.services import cards, photos, roll_check
from backoffice.views.ids import id_or_404

bp = Blueprint("cards", __name__)
STATIC = Path(__file__).resolve().parent.parent / "static" / "check"


@bp.route("/check")
@allows_camera
def check():
    return render_template("check/index.html", both=cards._both)


@bp.route("/check-sw.js")
def service_worker():
    """At the site's root so that its scope may be /check (the page itself)."""
    response = make_response((STATIC / "sw.js").read_bytes())
    response.mimetype = "text/javascript"
    response.cache_control.no_cache = True
    return response


def _no_cache(payload: dict):
    response = jsonify(payload)
    response.cache_control.no_cache = True
    return response


@bp.route("/check/key.json")
def public_key():
    return _no_cache(cards.public_keys())


def _public(response):
    """The same for everyone, no login, no cookie: any cache may keep it, and must ask
    again (the ETag makes asking cheap)."""
    response.cache_control.public = True
    response.cache_control.no_cache = True
    return response


def _published(published: cards.Published, mimetype: str):
    """A kept public file, 304 to a phone that holds these bytes already."""
    response = _public(make_response(published.data))
    response.mimetype = mimetype
    response.set_etag(published.etag)
    response.last_modified = published.modified
    return response.make_conditional(request)


@bp.route("/check/revoked.json")
def revoked():
    """The signed card revocation list, kept per process for CHECK_REVOKED_SECONDS."""
    return _published(cards.revocation_file(), "application/json")


@bp.route("/check/rolls.json")
def final_rolls():
    """The signed index of the final rolls a typed number is looked up in, on the phone."""
    response = _public(jsonify(roll_check.index()))
    response.add_etag()
    return response.make_conditional(request)


@bp.route("/check/rolls/<roll_id>.bin")
def final_roll(roll_id: str):
    """One current final roll: membership numbers, booths and serials, no names."""
    wanted = id_or_404(roll_id)
    roll = next((roll for roll in roll_check.current_rolls() if roll.id == wanted), None)
    if roll is None:
        abort(404)
    return _published(roll_check.served_roll(roll), "application/octet-stream")


def _card_member(token: str):
    member = cards.member_for_token(token)
    if member is None or not cards.can_have_card(member):
        abort(404)
    return member


def _card_response(data: bytes, mimetype: str, name: str):
    response = make_response(data)
    response.mimetype = mimetype
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.cache_control.private = True
    response.cache_control.no_store = True
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the key
    return response


def _send_card(member: Member, kind: str, *, attachment: bool = False):
    """The member's current card as a PNG or PDF, its viewing audited."""
    statement = cards.current_statement(member)
    payload = cards.verify(statement).payload
    audit.record("card.viewed", entity_type="member", entity_id=member.id,
                 unit_id=member.block_id, details={"card": payload["c"], "as": kind})
    stored = photos.read(member.photo_path)
    photo = stored.data if stored else None
    data = (cards.render_png(payload, statement, photo) if kind == "png"
            else cards.render_pdf(payload, statement, photo))
    db.session.commit()
    response = _card_response(data, "image/png" if kind == "png" else "application/pdf",
                              f"{payload['n']}.{kind}")
    if attachment:
        response.headers["Content-Disposition"] = \
            f'attachment; filename="{payload["n"]}.{kind}"'
    return response


@bp.route("/card/<token>.<kind>")
@limiter.limit(lambda: current_app.config["CARD_RATE_LIMIT"])
def card_file(token: str, kind: str):
    if kind not in ("png", "pdf"):
        abort(404)
    return _send_card(_card_member(token), kind)


@bp.route("/members/<member_id>/card.<kind>")
@login_required
def staff_card(member_id: str, kind: str):
    """The member's card for office holders who may see the member: the same answer (404)
    for a member outside their units, one without a card, or no member at all."""
    member = db.session.get(Member, id_or_404(member_id))
    if kind not in ("png", "pdf") or member is None or not cards.can_have_card(member) \
            or not scoping.member_in_scope(current_user, MEMBER_VIEW, member):
        abort(404)
    return _send_card(member, kind, attachment=True)
