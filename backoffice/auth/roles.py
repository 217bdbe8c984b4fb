"""The permission table: which role may do what, and who may appoint whom.

This is the only place that names roles next to permissions. Views and
services ask ``has_permission`` / ``backoffice.auth.scoping``; none decides on
its own who may see what.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Permissions, as (noun.verb) strings.
DASHBOARD_VIEW = "dashboard.view"
MEMBER_VIEW = "member.view"
MEMBER_VIEW_PII = "member.view_pii"  # unmasked phone and EPIC
MEMBER_CREATE = "member.create"
MEMBER_EDIT = "member.edit"
MEMBER_VERIFY = "member.verify_phone"
MEMBER_APPROVE = "member.approve"  # approve and reject
MEMBER_REVOKE = "member.revoke"
MEMBER_IMPORT = "member.import"  # bring in a file of paper forms
STAFF_VIEW = "staff.view"
STAFF_MANAGE = "staff.manage"
UNIT_VIEW = "unit.view"
UNIT_MANAGE = "unit.manage"
AUDIT_VIEW = "audit.view"
ROLL_MANAGE = "roll.manage"  # freeze, publish, decide claims, finalise, export
ROLL_CLAIM = "roll.claim"  # file a claim or an objection against a published roll
TARGET_MANAGE = "target.manage"

_ALL = frozenset(
    {
        DASHBOARD_VIEW, MEMBER_VIEW, MEMBER_VIEW_PII, MEMBER_CREATE, MEMBER_EDIT, MEMBER_VERIFY,
        MEMBER_APPROVE, MEMBER_REVOKE, MEMBER_IMPORT, STAFF_VIEW, STAFF_MANAGE, UNIT_VIEW,
        UNIT_MANAGE, AUDIT_VIEW, ROLL_MANAGE, ROLL_CLAIM, TARGET_MANAGE,
    }
)

PERMISSIONS: dict[str, frozenset[str]] = {
    "state_admin": _ALL,
    "division_incharge": frozenset(
        {DASHBOARD_VIEW, MEMBER_VIEW, UNIT_VIEW, STAFF_VIEW, AUDIT_VIEW}
    ),
    "district_president": frozenset(
        {
            DASHBOARD_VIEW, MEMBER_VIEW, MEMBER_VIEW_PII, MEMBER_EDIT, MEMBER_REVOKE, STAFF_VIEW,
            STAFF_MANAGE, UNIT_VIEW, AUDIT_VIEW, TARGET_MANAGE, ROLL_CLAIM, MEMBER_IMPORT,
        }
    ),
    "block_president": frozenset(
        {
            DASHBOARD_VIEW, MEMBER_VIEW, MEMBER_VIEW_PII, MEMBER_CREATE, MEMBER_EDIT,
            MEMBER_VERIFY, MEMBER_APPROVE, STAFF_VIEW, STAFF_MANAGE, UNIT_VIEW, ROLL_CLAIM,
            MEMBER_IMPORT,
        }
    ),
    "enroller": frozenset(
        {DASHBOARD_VIEW, MEMBER_VIEW, MEMBER_VIEW_PII, MEMBER_CREATE, MEMBER_EDIT, MEMBER_VERIFY,
         UNIT_VIEW}
    ),
    # Reads members (masked) and runs rolls; never edits a member.
    "returning_officer": frozenset(
        {DASHBOARD_VIEW, MEMBER_VIEW, UNIT_VIEW, ROLL_MANAGE, ROLL_CLAIM}
    ),
}

# The unit levels each role may be held at.
ROLE_LEVELS: dict[str, frozenset[str]] = {
    "state_admin": frozenset({"state"}),
    "division_incharge": frozenset({"division"}),
    "district_president": frozenset({"district"}),
    "block_president": frozenset({"block"}),
    "enroller": frozenset({"block", "zone"}),
    "returning_officer": frozenset({"state", "division", "district", "block", "zone"}),
}

# Who may appoint whom (always inside the appointer's own unit). Nobody
# appoints their own role or a higher one; state admins are made on the CLI.
APPOINTS: dict[str, frozenset[str]] = {
    "state_admin": frozenset(
        {"division_incharge", "district_president", "block_president", "enroller",
         "returning_officer"}
    ),
    "division_incharge": frozenset(),
    "district_president": frozenset({"block_president", "enroller"}),
    "block_president": frozenset({"enroller"}),
    "enroller": frozenset(),
    "returning_officer": frozenset(),
}

# Roles whose holders must use a second factor (TOTP) to log in.
SECOND_FACTOR_REQUIRED = frozenset({"state_admin", "returning_officer"})

ROLE_LABELS = {
    "state_admin": _l("State admin (PCC)"),
    "division_incharge": _l("Division in-charge"),
    "district_president": _l("District president"),
    "block_president": _l("Block president"),
    "enroller": _l("Enroller"),
    "returning_officer": _l("Returning officer"),
}


def role_has(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())
