"""The one place that names stored codes in the user's language.

Members' channel, relation, gender and status, unit levels, roll, claim,
import and job states, and audit event types are stored as short English
codes; people read them through ``label(kind, code)`` (lists, details,
filters, exports, dashboards). The labels are lazy strings: they are
translated when shown, in the language of the request that shows them.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

LABELS: dict[str, dict[str, object]] = {
    "status": {
        "recorded": _l("Recorded"), "phone_verified": _l("Phone verified"),
        "approved": _l("Approved"), "rejected": _l("Rejected"), "revoked": _l("Revoked"),
    },
    "channel": {"enroller": _l("Enroller"), "self": _l("Self-enrolment"),
                "paper": _l("Paper form")},
    "relation": {"father": _l("Father"), "husband": _l("Husband")},
    "gender": {"female": _l("Female"), "male": _l("Male"), "other": _l("Other")},
    "level": {"state": _l("State"), "division": _l("Division"), "district": _l("District"),
              "block": _l("Block"), "zone": _l("Zone")},
    "roll": {"draft": _l("Draft"), "frozen": _l("Frozen"), "preliminary": _l("Preliminary"),
             "final": _l("Final")},
    "claim": {"pending": _l("Pending"), "accepted": _l("Accepted"), "rejected": _l("Rejected"),
              "claim": _l("Claim"), "objection": _l("Objection")},
    "import": {"uploaded": _l("Uploaded"), "checking": _l("Being checked"),
               "checked": _l("Checked"), "committing": _l("Being committed"),
               "committed": _l("Members added"), "failed": _l("Failed")},
    "job": {"queued": _l("Waiting"), "running": _l("Running"), "done": _l("Done"),
            "failed": _l("Failed")},
    "action": {
        "member.create": _l("Member recorded"), "member.update": _l("Member corrected"),
        "member.verify_phone": _l("Phone verified"), "member.approve": _l("Member approved"),
        "member.reject": _l("Member rejected"), "member.revoke": _l("Membership revoked"),
        "member.decision_undone": _l("Decision undone"),
        "member.erase": _l("Member's details erased"),
        "member.rescope": _l("Member moved with their unit"),
        "member.import": _l("Member imported from a paper form"),
        "member.seed": _l("Demo member added"), "demo.seed": _l("Demo data loaded"),
        "member.state_baseline": _l("Member's recorded state noted"),
        "member.export": _l("Member list exported"), "record.export": _l("List exported"),
        "member.epic_taken": _l("Signup refused: voter ID already registered"),
        "member.possible_duplicate": _l("Possible duplicate flagged"),
        "otp.send": _l("Code sent by SMS"), "otp.send_failed": _l("SMS not sent"),
        "otp.check": _l("Code checked"),
        "member.sms_opt_out": _l("Member turned SMS notices off"),
        "member.sms_opt_in": _l("Member turned SMS notices on"),
        "staff.create": _l("Staff member added"), "staff.update": _l("Staff member changed"),
        "role.create": _l("Role given"), "role.delete": _l("Role taken away"),
        "unit.create": _l("Unit added"), "unit.update": _l("Unit changed"),
        "target.update": _l("Target set"),
        "import.upload": _l("Paper forms uploaded"), "import.check": _l("Paper forms checked"),
        "import.commit": _l("Paper forms added"),
        "import.file_deleted": _l("Uploaded file deleted"),
        "roll.freeze": _l("Roll frozen"), "roll.publish": _l("Preliminary roll published"),
        "roll.finalise": _l("Roll made final"), "roll.export": _l("Roll exported"),
        "roll.claim": _l("Claim filed"), "roll.objection": _l("Objection filed"),
        "roll.claim_accepted": _l("Claim accepted"), "roll.claim_rejected": _l("Claim rejected"),
        "roll.objection_accepted": _l("Objection accepted"),
        "roll.objection_rejected": _l("Objection rejected"),
        "auth.login": _l("Logged in"), "auth.login_failed": _l("Wrong password"),
        "auth.login_refused_locked": _l("Login refused: account locked"),
        "auth.locked": _l("Account locked"), "auth.forbidden": _l("Access refused"),
        "auth.logout": _l("Logged out"), "auth.password_ok": _l("Password accepted"),
        "auth.second_factor_failed": _l("Wrong two-step login code"),
    },
}


def label(kind: str, code: str | None):
    """The code's label (a lazy string), or the code itself if it has none yet."""
    if code is None:
        return ""
    return LABELS[kind].get(code, code)


def options(kind: str, codes=None) -> list[tuple[str, str]]:
    """(code, label) pairs for a filter or a select, labels translated now."""
    names = LABELS[kind]
    return [(code, str(names.get(code, code))) for code in (codes or names)]


def column(kind: str, attribute: str | None = None):
    """A Flask-Admin column formatter showing the column's code as its label."""
    def format_label(view, context, model, name):
        return label(kind, getattr(model, attribute or name))

    return format_label
