"""Targets: the state admin sets the state's and splits it; a district head splits the
district's among its blocks."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from backoffice.auth.roles import TARGET_MANAGE
from backoffice.auth.scoping import grants_for
from backoffice.extensions import db
from backoffice.models import Unit
from backoffice.services import targets
from backoffice.services.errors import ServiceError
from backoffice.views.base import SecureView, id_or_404


class TargetView(SecureView):
    permission = TARGET_MANAGE

    def _units(self):
        """The units whose targets this user sets: a state admin the state and every
        division and district; others the units directly below their own."""
        found = {}
        for grant in grants_for(current_user, TARGET_MANAGE):
            query = select(Unit).where(Unit.path.startswith(grant.path),
                                       Unit.level.in_(("state", "division", "district"))
                                       if grant.level == "state"
                                       else Unit.parent_id == grant.unit_id)
            for unit in db.session.scalars(query.order_by(Unit.path)):
                found[unit.id] = unit
        return list(found.values())

    @expose("/", methods=["GET", "POST"])
    def index(self):
        units = self._units()
        if request.method == "POST":
            unit = {u.id: u for u in units}.get(id_or_404(request.form.get("unit_id", "")))
            raw = request.form.get("target", "").replace(",", "").strip()
            try:
                if unit is None or not raw.isascii() or not raw.isdigit():
                    raise ServiceError(_("Enter the target as a whole number."))
                targets.set_target(current_user, unit, int(raw))
            except ServiceError as error:
                db.session.rollback()
                flash(str(error.message), "error")
            else:
                db.session.commit()
                flash(_("Target saved."), "success")
            return redirect(url_for(".index"))
        return self.render("admin/targets.html", rows=targets.progress(units))
