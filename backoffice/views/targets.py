"""Targets: the state admin sets the state's and splits it; a district head splits the
district's among its blocks."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
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
from backoffice.views.base import SecureView
from backoffice.views.ids import id_or_404


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
            try:
                targets.set_targets(current_user, self._posted(units))
            except ServiceError as error:
                db.session.rollback()
                flash(str(error.message), "error")
            else:
                db.session.commit()
                flash(_("Targets saved."), "success")
            return redirect(url_for(".index"))
        rows = targets.progress(units)
        levels = {}
        for row in rows:  # a table per level: Raipur the division and Raipur the district
            levels.setdefault(row.unit.level, []).append(row)
        return self.render("admin/targets.html", levels=list(levels.items()))

    def _posted(self, units) -> dict:
        """{unit: target} from a level's form: a unit_id and a target per row (an empty
        target is left as it was). A unit not in this user's list answers 404, as a
        missing one; a target that is not a whole number is named with its unit."""
        ids, values = request.form.getlist("unit_id"), request.form.getlist("target")
        if len(ids) != len(values):
            abort(400)
        by_id = {unit.id: unit for unit in units}
        changes = {}
        for raw_id, raw in zip(ids, values, strict=True):
            unit = by_id.get(id_or_404(raw_id))
            if unit is None:
                abort(404)
            raw = raw.replace(",", "").strip()
            if not raw:
                continue
            if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
                raise ServiceError(_("%(unit)s: enter the target as a whole number.",
                                     unit=unit))
            changes[unit] = int(raw)
        return changes
