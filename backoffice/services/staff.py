"""Delegated administration: who may create staff and grant which role where.

Nobody grants a role at or above their own, outside their unit, or to
themselves; the permission table's APPOINTS says who appoints whom.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from backoffice.auth.passwords import hash_password
from backoffice.auth.roles import APPOINTS, ROLE_LABELS, ROLE_LEVELS
from backoffice.auth.scoping import forget_grants, grants
from backoffice.extensions import db
from backoffice.labels import label
from backoffice.models import RoleAssignment, StaffUser, Unit
from backoffice.services.errors import ServiceError, ValidationError
from backoffice.services.validation import clean_name, normalise_mobile

MIN_PASSWORD = 10


def can_assign(actor, role: str, unit: Unit | None) -> bool:
    """True if one of the actor's roles appoints ``role`` and covers ``unit``."""
    if unit is None or unit.level not in ROLE_LEVELS.get(role, ()):
        return False
    return any(role in APPOINTS.get(grant.role, ()) and grant.covers_path(unit.path)
               for grant in grants(actor))


LEVEL_ORDER = ("state", "division", "district", "block", "zone")


def refusal(actor, role: str, unit: Unit | None):
    """Why the actor may not give ``role`` at ``unit``, in words that say what would
    do (the roles they may give, the levels the role is held at), or None."""
    mine = assignable_roles(actor)
    if role not in mine:
        return _l("You may give only these roles: %(roles)s.",
                  roles=", ".join(str(ROLE_LABELS[name]) for name in mine) or "—")
    if unit is None:
        return _l("Choose a unit.")
    levels = [level for level in LEVEL_ORDER if level in ROLE_LEVELS[role]]
    if unit.level not in levels:
        return _l("%(role)s is held at: %(levels)s; %(unit)s is a unit of level %(level)s.",
                  role=ROLE_LABELS[role], levels=", ".join(str(label("level", level))
                                                          for level in levels),
                  unit=str(unit), level=label("level", unit.level))
    if not can_assign(actor, role, unit):
        return _l("%(unit)s is outside the units where you give this role.", unit=str(unit))
    return None


def assignable_roles(actor) -> list[str]:
    return sorted({role for grant in grants(actor) for role in APPOINTS.get(grant.role, ())})


def assign_role(actor, user: StaffUser, role: str, unit: Unit) -> RoleAssignment:
    if user.id == actor.id:
        raise ServiceError(_l("You cannot change your own roles."))
    if (why := refusal(actor, role, unit)) is not None:
        raise ServiceError(why)
    exists = db.session.scalar(select(func.count()).select_from(RoleAssignment).where(
        RoleAssignment.user_id == user.id, RoleAssignment.role == role,
        RoleAssignment.unit_id == unit.id))
    if exists:
        raise ServiceError(_l("This person already has this role here."))
    assignment = RoleAssignment(user_id=user.id, role=role, unit_id=unit.id,
                                created_by_id=actor.id)
    db.session.add(assignment)
    db.session.flush()
    forget_grants()
    return assignment


def remove_role(actor, assignment: RoleAssignment) -> None:
    if assignment.user_id == actor.id:
        raise ServiceError(_l("You cannot change your own roles."))
    unit = db.session.get(Unit, assignment.unit_id)
    if not can_assign(actor, assignment.role, unit):
        raise ServiceError(_l("You may not remove this role."))
    db.session.delete(assignment)
    db.session.flush()
    forget_grants()


def create_staff(actor, *, full_name: str, email: str | None, mobile: str | None,
                 password: str, role: str, unit: Unit) -> StaffUser:
    """A new staff user with a first role, checked before anything is written."""
    if (why := refusal(actor, role, unit)) is not None:
        raise ServiceError(why)
    email = (email or "").strip().lower() or None
    mobile = normalise_mobile(mobile) if (mobile or "").strip() else None
    if not email and not mobile:
        raise ValidationError(_l("Give an email or a mobile number to log in with."),
                              field="email")
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(_l("The password must have at least %(n)s characters.",
                                 n=MIN_PASSWORD), field="password")
    _check_login_free(email, mobile, None)
    user = StaffUser(full_name=clean_name(full_name), email=email, mobile=mobile,
                     password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    db.session.add(RoleAssignment(user_id=user.id, role=role, unit_id=unit.id,
                                  created_by_id=actor.id))
    db.session.flush()
    return user


def can_manage(actor, user: StaffUser) -> bool:
    """True if the actor outranks every role the user holds, inside the actor's units."""
    if user.id == actor.id or not user.roles:
        return False
    return all(can_assign(actor, role.role, db.session.get(Unit, role.unit_id))
               for role in user.roles)


def update_staff(actor, user: StaffUser, *, full_name: str, email: str | None,
                 mobile: str | None, active: bool, new_password: str | None) -> StaffUser:
    """Correct a staff user's details, (de)activate them or set a new password.

    Deactivating or a new password ends every session of that user.
    """
    if not can_manage(actor, user):
        raise ServiceError(_l("You may not change this person's account."))
    email = (email or "").strip().lower() or None
    mobile = normalise_mobile(mobile) if (mobile or "").strip() else None
    if not email and not mobile:
        raise ValidationError(_l("Give an email or a mobile number to log in with."),
                              field="email")
    _check_login_free(email, mobile, user.id)
    user.full_name = clean_name(full_name)
    user.email, user.mobile = email, mobile
    if new_password:
        if len(new_password) < MIN_PASSWORD:
            raise ValidationError(_l("The password must have at least %(n)s characters.",
                                     n=MIN_PASSWORD), field="new_password")
        user.password_hash = hash_password(new_password)
        user.session_version += 1
    if user.active and not active:
        user.session_version += 1
    user.active = active
    db.session.flush()
    return user


def _check_login_free(email: str | None, mobile: str | None, user_id: int | None) -> None:
    same_login = []
    if email:
        same_login.append(func.lower(StaffUser.email) == email)
    if mobile:
        same_login.append(StaffUser.mobile == mobile)
    query = select(func.count()).select_from(StaffUser).where(or_(*same_login))
    if user_id is not None:
        query = query.where(StaffUser.id != user_id)
    if db.session.scalar(query):
        raise ValidationError(_l("This email or mobile number is already used to log in."),
                              field="email")
