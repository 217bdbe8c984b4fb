"""Every registered model view x every role x every operation x in/out-of-scope rows.

Each role's expected view of four probe rows per view is written out below;
every read path must show exactly that, and no write path may touch a row
the role cannot see. The probe count is printed (pytest -s).
"""

import contextlib
import html
import io
import json
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import delete as sa_delete
from sqlalchemy import func, select
from werkzeug.serving import make_server

from backoffice import audit
from backoffice.extensions import db
from backoffice.models import (
    AuditEvent,
    AuditHead,
    Member,
    PhoneVerification,
    RoleAssignment,
    Roll,
    StaffUser,
    Unit,
)
from backoffice.services.units import create_unit
from backoffice.views.base import ScopedModelView
from tests import factories

M_IN, M_OUT = "ProbeMemberIn", "ProbeMemberOut"
U_IN, U_OUT = "ProbeUnitIn", "ProbeUnitOut"
S_IN, S_OUT = "ProbeStaffIn", "ProbeStaffOut"
FORBIDDEN = None  # the role may not open the view at all: 403
PHOTO = bytes.fromhex(  # a 1x1 PNG
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000105e1d2e10000000049454e44ae426082")

A_IN, A_OUT = "ProbeEventIn", "ProbeEventOut"
R_IN, R_OUT = "ProbeRollIn", "ProbeRollOut"

EXPECT = {
    # First: the probing itself writes events, which would push these off page one.
    "audit": {
        "state": {A_IN, A_OUT}, "division": {A_IN}, "district": {A_IN},
        "other_district": {A_OUT}, "bilha": FORBIDDEN, "masturi": FORBIDDEN,
        "enroller": FORBIDDEN, "zone_enroller": FORBIDDEN, "ro": FORBIDDEN,
        "nobody": FORBIDDEN,
    },
    "rolls": {
        "state": {R_IN, R_OUT}, "ro": {R_IN}, "division": FORBIDDEN, "district": FORBIDDEN,
        "other_district": FORBIDDEN, "bilha": FORBIDDEN, "masturi": FORBIDDEN,
        "enroller": FORBIDDEN, "zone_enroller": FORBIDDEN, "nobody": FORBIDDEN,
    },
    "members": {
        "state": {M_IN, M_OUT}, "division": {M_IN}, "district": {M_IN},
        "other_district": {M_OUT}, "bilha": {M_IN}, "masturi": set(), "enroller": {M_IN},
        "zone_enroller": set(), "ro": {M_IN}, "nobody": FORBIDDEN,
    },
    "queue": {
        "state": {M_IN, M_OUT}, "bilha": {M_IN}, "masturi": set(), "division": FORBIDDEN,
        "district": FORBIDDEN, "other_district": FORBIDDEN, "enroller": FORBIDDEN,
        "zone_enroller": FORBIDDEN, "ro": FORBIDDEN, "nobody": FORBIDDEN,
    },
    "units": {
        "state": {U_IN, U_OUT}, "division": {U_IN}, "district": {U_IN},
        "other_district": {U_OUT}, "bilha": {U_IN}, "masturi": set(), "enroller": {U_IN},
        "zone_enroller": set(), "ro": {U_IN}, "nobody": FORBIDDEN,
    },
    "staff": {
        "state": {S_IN, S_OUT}, "division": {S_IN}, "district": {S_IN},
        "other_district": {S_OUT}, "bilha": {S_IN}, "masturi": set(), "enroller": FORBIDDEN,
        "zone_enroller": FORBIDDEN, "ro": FORBIDDEN, "nobody": FORBIDDEN,
    },
}
# Who may change a row they can see through the edit form (the rest must not).
EDITORS = {"members": {"state", "district", "other_district", "bilha", "enroller"},
           "queue": {"state", "bilha"}, "units": {"state"},
           "staff": {"state", "district", "other_district", "bilha"}, "audit": set(),
           "rolls": {"state", "ro"}}
APPROVERS = {"state", "bilha", "masturi"}  # the one-member buttons and undo
MARKERS = {"audit": (A_IN, A_OUT), "rolls": (R_IN, R_OUT), "members": (M_IN, M_OUT),
           "queue": (M_IN, M_OUT), "units": (U_IN, U_OUT), "staff": (S_IN, S_OUT)}


def secret(marker: str) -> str:
    """A second value of the row that no probe request ever sends, so finding it in a
    response means the row leaked (the marker itself is echoed back in search URLs)."""
    return f"{marker.lower()}-kin"


@pytest.fixture
def probes(app, units):
    with app.test_request_context():
        raipur_block = create_unit(level="block", code="BLK-PROBE-RAIPUR", name_en=U_OUT,
                                   name_hi=secret(U_OUT), parent=units["DIST-RAIPUR"])
        zone = create_unit(level="zone", code="ZONE-PROBE-BILHA", name_en=U_IN,
                           name_hi=secret(U_IN), parent=units["BLK-BILHA"])
        rows = {
            M_IN: factories.member(units["BLK-BILHA"], full_name=M_IN, status="phone_verified",
                                   relative_name=secret(M_IN)),
            M_OUT: factories.member(raipur_block, full_name=M_OUT, status="phone_verified",
                                    relative_name=secret(M_OUT)),
            U_IN: zone, U_OUT: raipur_block,
            S_IN: factories.staff_with_role("enroller", units["BLK-BILHA"], full_name=S_IN,
                                            email=secret(S_IN)),
            S_OUT: factories.staff_with_role("enroller", raipur_block, full_name=S_OUT,
                                             email=secret(S_OUT)),
        }
        db.session.flush()
        rows[R_IN] = Roll(unit_id=units["DIST-BILASPUR"].id, title=R_IN, cut_off=date.today(),
                          status="draft")
        rows[R_OUT] = Roll(unit_id=units["DIST-RAIPUR"].id, title=R_OUT, cut_off=date.today(),
                           status="draft")
        db.session.add_all([rows[R_IN], rows[R_OUT]])
        db.session.flush()
        ids = {marker: row.id for marker, row in rows.items()}
        for marker, unit in ((A_IN, units["BLK-BILHA"]), (A_OUT, raipur_block)):
            audit.record("test.probe", unit_id=unit.id, reason=marker,
                         details={"note": secret(marker)})
            db.session.commit()
            ids[marker] = db.session.get(AuditHead, 1).seq
        return ids


def _snapshot(view: str, row_id: int):
    """What a write would change, read fresh from the database."""
    db.session.expire_all()
    if view == "audit":
        event = db.session.get(AuditEvent, row_id)
        return event and (event.action, event.reason, event.row_hash)
    if view == "rolls":
        roll = db.session.get(Roll, row_id)
        return roll and (roll.status, roll.title)
    if view in ("members", "queue"):
        member = db.session.get(Member, row_id)
        codes = db.session.scalar(select(func.count()).select_from(PhoneVerification).where(
            PhoneVerification.member_id == row_id))
        return member and (member.status, member.full_name, member.block_id,
                           member.photo_sha256, codes)
    if view == "units":
        unit = db.session.get(Unit, row_id)
        return unit and (unit.name_en, unit.parent_id, unit.path)
    user = db.session.get(StaffUser, row_id)
    roles = db.session.scalars(select(RoleAssignment.role).where(
        RoleAssignment.user_id == row_id)).all()
    return user and (user.full_name, user.active, tuple(roles))


def test_registered_views_are_all_in_the_matrix(app):
    admin = app.extensions["admin"][0]
    scoped = {view.endpoint for view in admin._views if isinstance(view, ScopedModelView)}
    assert scoped == set(EXPECT) | {"roles"}  # roles: tests/views/test_roles.py


def test_no_view_leaks_a_row_by_any_path(app, browser, staff, probes, capsys):
    count = 0
    for view, expectations in EXPECT.items():
        for role, visible in expectations.items():
            b = browser(staff[role])
            base = f"/admin/{view}"
            if visible is FORBIDDEN:
                for url in (f"{base}/", f"{base}/details/?id=1", f"{base}/export/csv/"):
                    assert b.get(url).status_code == 403, (view, role, url)
                    count += 1
                continue
            token = b.csrf_token(f"{base}/")
            for marker in MARKERS[view]:
                count += _probe_row(b, view, base, role, marker, probes[marker],
                                    marker in visible, token)
    with capsys.disabled():
        print(f"\nscope matrix: {count} probes, 0 leaks")
    assert count > 300


def _probe_row(b, view, base, role, marker, row_id, visible, token) -> int:
    where = (view, role, marker)
    listing = b.get(f"{base}/", query_string={"search": marker}).get_data(as_text=True)
    assert bool(re.search(rf"<td[^>]*>\s*{marker}\s*</td>", listing)) == visible, where
    details = b.get(f"{base}/details/?id={row_id}")
    has_details = view in ("members", "queue", "audit", "rolls")  # units and staff: none
    assert (details.status_code == 200) == (visible and has_details), where
    reads = [b.get(f"{base}/edit/?id={row_id}"), b.get(f"{base}/export/csv/"),
             b.get(f"{base}/verify/?id={row_id}"),
             b.get(f"{base}/ajax/lookup/?name=block&query={marker}&limit=1000")]
    if not visible:
        for response in [details, *reads]:
            assert secret(marker) not in response.get_data(as_text=True), where
    before = _snapshot(view, row_id)
    writes = [
        ("delete/", {"id": row_id}),
        ("ajax/update/", {"list_form_pk": row_id, "full_name": "Changed", "name_en": "Changed"}),
        ("edit/?id=" + str(row_id), {"full_name": "Changed", "name_en": "Changed"}),
        ("action/", {"action": "approve", "rowid": row_id}),
        ("action/", {"action": "reject", "rowid": row_id}),
        ("action/", {"action": "delete", "rowid": row_id}),
        ("decide-one/", {"action": "approve", "id": row_id}),
        ("undo/", {"id": row_id}),
        ("decide/", {"action": "reject", "ids": str(row_id), "reason": "probe"}),
        (f"verify/?id={row_id}", {"step": "send"}),
        (f"verify/?id={row_id}", {"step": "check", "code": "123456"}),
        (f"photo/?id={row_id}", {"photo": (io.BytesIO(PHOTO), "p.png")}),
        (f"step/?id={row_id}", {"action": "freeze"}),
    ]
    for path, data in writes:
        if "photo" in data:
            data = {"photo": (io.BytesIO(PHOTO), "p.png")}  # a fresh stream each time
        b.client.post(f"{base}/{path}", data={**data, "csrf_token": token})
        after = _snapshot(view, row_id)
        if not visible:
            assert after == before, (*where, path)
        elif path in ("delete/", "ajax/update/") or (
                path.startswith(("edit/", "photo/", "verify/", "step/"))
                and role not in EDITORS[view]) or (
                path in ("decide-one/", "undo/") and role not in APPROVERS):
            assert after == before, (*where, path, "changed without the right")
        before = after
    _restore(view, row_id, marker)
    return 3 + len(reads) + len(writes)


def _restore(view, row_id, marker):
    """Undo the legitimate in-scope changes so later roles probe the same row."""
    if view == "audit":
        return  # nothing can change it
    if view == "rolls":
        db.session.get(Roll, row_id).status = "draft"
        db.session.commit()
        return
    if view in ("members", "queue"):
        member = db.session.get(Member, row_id)
        member.status, member.full_name = "phone_verified", marker
    elif view == "units":
        db.session.get(Unit, row_id).name_en = marker
    else:
        user = db.session.get(StaffUser, row_id)
        user.full_name, user.active = marker, True
    db.session.commit()


def test_nobody_creates_a_member_outside_their_units(app, browser, staff, units, probes):
    """A crafted create form naming another unit's block or zone saves nothing."""
    raipur_block = probes[U_OUT]
    foreign = [(raipur_block, ""), (units["BLK-MASTURI"].id, ""),
               (units["BLK-BILHA"].id, probes[U_IN])]
    count = 0
    for role in ("division", "district", "bilha", "masturi", "enroller", "zone_enroller", "ro",
                 "other_district"):
        b = browser(staff[role])
        token = b.csrf_token("/admin/")
        for block_id, zone_id in foreign:
            allowed = {"district": {units["BLK-MASTURI"].id, units["BLK-BILHA"].id},
                       "bilha": {units["BLK-BILHA"].id}, "masturi": {units["BLK-MASTURI"].id},
                       "enroller": {units["BLK-BILHA"].id},
                       "other_district": {raipur_block}}.get(role, set())
            if block_id in allowed:
                continue
            before = db.session.scalar(select(func.count()).select_from(Member))
            b.client.post("/admin/members/new/", data={
                "csrf_token": token, "full_name": "Crafted", "relative_name": "Crafted",
                "relation": "father", "gender": "male", "date_of_birth": "1990-01-01",
                "mobile": "9812345679", "epic": "", "address": "x", "block_id": block_id,
                "zone_id": zone_id, "consent": "y"})
            db.session.expire_all()
            assert db.session.scalar(select(func.count()).select_from(Member)) == before, (
                role, block_id, zone_id)
            count += 1
    assert count >= 15


# Malformed record ids, on every route and action that takes one: whatever is not an
# id in range (1 to 2**63 - 1, ASCII digits only) answers 404 and changes nothing.
MALFORMED = ("abc", "1.5", "1e3", "1,2", "99999999999999999999", "9" * 19, "-1", "0", "+1",
             " 1", "1 ", "0x1f", "1_0", "١٢", "१२", "1\x00",
             "2147483648", "9" * 18)  # past PostgreSQL's integer keys: found nowhere


def _id_routes(probes) -> list[tuple[str, str, dict]]:
    """(method, URL, form) with a {bad} hole for the malformed value; the other ids valid."""
    roll, member = probes[R_IN], probes[M_IN]
    return [
        *[("POST", f"/admin/{view}/action/", {"action": action, "rowid": ["{bad}"]})
          for view in ("members", "queue") for action in ("approve", "reject", "revoke")],
        ("POST", "/admin/members/action/", {"action": "approve", "rowid": [member, "{bad}"]}),
        ("POST", "/admin/roles/action/", {"action": "delete", "rowid": ["{bad}"]}),
        ("GET", "/admin/members/decide/?action=reject&ids={bad}", {}),
        *[("POST", f"/admin/{view}/{path}", form) for view in ("members", "queue")
          for path, form in (("decide-one/", {"action": "approve", "id": "{bad}"}),
                             ("undo/", {"id": "{bad}"}))],
        ("GET", f"/admin/members/decide/?action=reject&ids={member},{{bad}}", {}),
        ("POST", "/admin/members/decide/?action=reject",
         {"action": "reject", "ids": "{bad}", "reason": "probe"}),
        ("GET", "/admin/members/verify/?id={bad}", {}),
        ("POST", "/admin/members/verify/?id={bad}", {"step": "send"}),
        ("POST", "/admin/members/photo/?id={bad}", {}),
        ("GET", "/admin/members/erase/?id={bad}", {}),
        ("GET", "/admin/imports/batch/?id={bad}", {}),
        ("POST", "/admin/imports/run/?id={bad}", {"step": "check"}),
        ("GET", "/admin/imports/progress/?id={bad}", {}),
        ("GET", "/admin/imports/problems/?id={bad}", {}),
        ("GET", "/admin/audit_reports/members/?enroller={bad}", {}),
        ("POST", "/admin/targets/", {"unit_id": "{bad}", "target": "100"}),
        ("GET", "/admin/rolls/download/?id={bad}", {}),
        ("GET", f"/admin/rolls/manifest/?id={roll}&seq={{bad}}", {}),
        ("GET", "/admin/rolls/manifest/?id={bad}&seq=1", {}),
        ("POST", "/admin/rolls/step/?id={bad}", {"action": "freeze"}),
        ("POST", f"/admin/rolls/step/?id={roll}",
         {"action": "accept", "claim": "{bad}", "reason": "probe"}),
    ]


def test_malformed_ids_answer_404_and_change_nothing(app, browser, staff, probes, capsys):
    """As the state admin, who may reach every route, so only the id decides."""
    b = browser(staff["state"])
    token = b.csrf_token("/admin/")
    before = {view: _snapshot(view, probes[marker]) for view, marker in
              (("members", M_IN), ("rolls", R_IN), ("staff", S_IN))}
    count, wrong = 0, []
    for method, url, form in _id_routes(probes):
        for bad in MALFORMED:
            if bad == "1,2" and "decide/" in url:
                continue  # decide takes a list of ids: that one is well formed
            target = url.replace("{bad}", quote(bad, safe=""))
            data = {key: [bad if item == "{bad}" else item for item in value]
                    if isinstance(value, list) else value.replace("{bad}", bad)
                    for key, value in form.items()}
            if method == "POST":
                response = b.client.post(target, data={**data, "csrf_token": token})
            else:
                response = b.get(target)
            # NUL is refused (400) before any route reads the request
            if response.status_code not in ((400, 404) if "\x00" in bad else (404,)):
                wrong.append((method, url, bad, response.status_code))
            count += 1
    assert not wrong, f"{len(wrong)} of {count}: {wrong[:40]}"
    assert before == {view: _snapshot(view, probes[marker]) for view, marker in
                      (("members", M_IN), ("rolls", R_IN), ("staff", S_IN))}
    with capsys.disabled():
        print(f"\nmalformed ids: {count} probes, all 404")


# Flask-Admin's own pages answer an id they cannot find with their "record does not
# exist" message (a redirect); forms answer a select's malformed id with a field error.
BUILT_IN = [(method, f"/admin/{view}/{path}", form) for view in EXPECT | {"roles": None}
            for method, path, form in (("GET", "details/?id={bad}", {}),
                                       ("GET", "edit/?id={bad}", {}),
                                       ("POST", "edit/?id={bad}", {"full_name": "Changed"}),
                                       ("POST", "delete/", {"id": "{bad}"}))]
FORMS = [  # a valid form but for the field holding a malformed id
    ("/admin/members/new/", {"full_name": "Crafted", "relative_name": "Crafted",
                             "relation": "father", "gender": "male",
                             "date_of_birth": "1990-01-01", "mobile": "9812345679",
                             "block_id": "BLK-BILHA", "zone_id": "", "consent": "y"},
     ("block_id", "zone_id")),
    ("/admin/units/new/", {"code": "CRAFTED", "name_en": "Crafted", "name_hi": "Crafted",
                           "level": "zone", "parent_id": "BLK-BILHA"}, ("parent_id",)),
    ("/admin/roles/new/", {"user": "enroller", "role": "enroller", "unit": "BLK-BILHA"},
     ("user", "unit")),
    ("/admin/staff/new/", {"full_name": "Crafted", "password": "a long enough password 1",
                           "role": "enroller", "unit": "BLK-BILHA"}, ("unit",)),
    ("/admin/rolls/new/", {"unit_id": "DIST-BILASPUR", "title": "Crafted",
                           "cut_off": "2026-11-15"}, ("unit_id",)),
    ("/admin/claims/", {"roll_id": "1", "kind": "claim", "membership_no": "1",
                        "reason": "Crafted"}, ("roll_id",)),
    ("/admin/imports/", {"unit_id": "BLK-BILHA", "receipt_books": "1-5"}, ("unit_id",)),
]
COUNTED = (Member, Unit, RoleAssignment, StaffUser, Roll)


def test_malformed_ids_in_stock_pages_and_forms_never_fail(app, browser, staff, units, probes,
                                                          capsys):
    b = browser(staff["state"])
    token = b.csrf_token("/admin/")
    counts = {model: db.session.scalar(select(func.count()).select_from(model))
              for model in COUNTED}
    count, wrong = 0, []
    for bad in MALFORMED:
        for method, url, form in BUILT_IN:
            target = url.replace("{bad}", quote(bad, safe=""))
            data = {key: value.replace("{bad}", bad) for key, value in form.items()}
            response = (b.client.post(target, data={**data, "csrf_token": token})
                        if method == "POST" else b.get(target))
            if response.status_code not in (302, 400, 403, 404):
                wrong.append((method, url, bad, response.status_code))
            count += 1
        for url, form, fields in FORMS:
            valid = {key: str(units[value].id) if value in units else
                     str(staff[value].id) if value in staff else value
                     for key, value in form.items()}
            for field in fields:
                response = b.client.post(url, data={**valid, field: bad, "csrf_token": token})
                if response.status_code >= 500:
                    wrong.append(("POST", url, field, bad, response.status_code))
                count += 1
    assert not wrong, f"{len(wrong)} of {count}: {wrong[:40]}"
    db.session.expire_all()
    assert counts == {model: db.session.scalar(select(func.count()).select_from(model))
                      for model in COUNTED}
    with capsys.disabled():
        print(f"\nmalformed ids in stock pages and forms: {count} probes, 0 5xx")


# Concurrent users of different units. Flask-Admin view objects serve every user
# and thread: anything a request leaves on one (filter options, forms, choices)
# shows up in another user's page. The data is committed for real (the threaded
# server's requests run on their own connections) and removed after.
CROWD = {  # user: (role, unit code)
    "bilha": ("block_president", "BLK-BILHA"),
    "masturi": ("block_president", "BLK-MASTURI"),
    "bilaspur": ("district_president", "DIST-BILASPUR"),
    "korba": ("district_president", "DIST-KORBA"),
    "raipur": ("district_president", "DIST-RAIPUR"),
}
CROWD_BLOCKS = ("BLK-BILHA", "BLK-MASTURI", "BLK-KOTA", "BLK-KORBA", "BLK-KATGHORA",
                "BLK-CROWD-RAIPUR")
CROWD_PAGES = {"block_president": ("members", "queue", "staff", "units", "roles", ""),
               "district_president": ("members", "audit", "staff", "units", "roles", "")}
# Then a burst of the lists with filter option lists, in which the race that leaked
# them showed on about one page in ten.
CROWD_BURST = {"block_president": ("members", "queue"), "district_president": ("members", "audit")}
CROWD_ROUNDS, CROWD_BURST_ROUNDS, CROWD_THREADS = 2, 12, 16


def _crowd_world() -> dict:
    """Committed: the shipped units, a block under Raipur, per block one member and one
    enroller, someone enrolling in both Bilha and Raipur, and the crowd's users."""
    from backoffice.services.units import load_units, read_units_csv

    before = set(db.session.scalars(select(Unit.id)))
    units = load_units(read_units_csv())
    units["BLK-CROWD-RAIPUR"] = create_unit(
        level="block", code="BLK-CROWD-RAIPUR", name_en="Raipur block 1",
        name_hi="रायपुर ब्लॉक 1", parent=units["DIST-RAIPUR"])
    db.session.flush()
    records, staff = {}, []  # records: marker -> the units whose people may see it
    for code in CROWD_BLOCKS:
        slug = code.removeprefix("BLK-").replace("-", "").lower()
        factories.member(units[code], full_name=f"Crowd member {slug}",
                         status="phone_verified")
        staff.append(factories.staff_with_role("enroller", units[code],
                                               full_name=f"Crowd enroller {slug}"))
        records[f"Crowd member {slug}"] = records[f"Crowd enroller {slug}"] = {units[code]}
    staff.append(factories.staff_with_role("enroller", units["BLK-BILHA"],
                                           full_name="Crowd dual"))
    db.session.add(RoleAssignment(user_id=staff[-1].id, role="enroller",
                                  unit_id=units["BLK-CROWD-RAIPUR"].id))
    records["Crowd dual"] = {units["BLK-BILHA"], units["BLK-CROWD-RAIPUR"]}
    users = {name: factories.staff_with_role(role, units[code])
             for name, (role, code) in CROWD.items()}
    db.session.commit()
    created = {"units": set(db.session.scalars(select(Unit.id))) - before,
               "staff": {user.id for user in [*staff, *users.values()]}}
    return {"units": units, "records": records, "users": users, "created": created}


def _remove_crowd_world(created) -> None:
    from backoffice.models import MemberDaily, MemberTally

    cleanup = {"audited": True}  # test scaffolding, committed for real and removed here
    units, staff = created["units"], created["staff"]
    factories.delete_members_for_real(Member.block_id.in_(units))
    db.session.execute(sa_delete(RoleAssignment).where(RoleAssignment.user_id.in_(staff)),
                       execution_options=cleanup)
    db.session.execute(sa_delete(StaffUser).where(StaffUser.id.in_(staff)),
                       execution_options=cleanup)
    db.session.execute(sa_delete(MemberTally).where(MemberTally.block_id.in_(units)))
    db.session.execute(sa_delete(MemberDaily).where(MemberDaily.block_id.in_(units)))
    rows = db.session.scalars(select(Unit).where(Unit.id.in_(units))).all()
    for unit in sorted(rows, key=lambda u: -len(u.path)):  # children first
        db.session.delete(unit)
        db.session.flush()
    db.session.commit()


def _crowd_expectations(world) -> dict:
    """Per user: the names (units and people) their pages must never show, in the
    filter options, and the records and record units they must never show anywhere."""
    units = world["units"].values()
    people = db.session.execute(select(StaffUser.full_name, Unit.path).join(
        RoleAssignment, RoleAssignment.user_id == StaffUser.id).join(
        Unit, Unit.id == RoleAssignment.unit_id)).all()
    expect = {}
    for name, (_role, code) in CROWD.items():
        home = world["units"][code].path

        def inside(unit, home=home):
            return unit.path.startswith(home)

        names = {n for unit in units for n in (unit.name_en, unit.name_hi)}
        own_names = {n for unit in units if inside(unit) for n in (unit.name_en, unit.name_hi)}
        seen_people = {person for person, path in people if path.startswith(home)}
        record_units = {unit for homes in world["records"].values() for unit in homes}
        expect[name] = {
            "options": (names - own_names) | ({p for p, _path in people} - seen_people),
            "records": {marker for marker, homes in world["records"].items()
                        if not any(inside(unit) for unit in homes)},
            "units": {unit.name_en for unit in record_units if not inside(unit)}
            - own_names,
        }
    return expect


def _crowd_leaks(page: str, expect: dict) -> list[str]:
    leaks = []
    data = re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S)
    if data:
        for group in json.loads(html.unescape(data.group(1))).values():
            for flt in group:
                leaks += [label for _value, label in flt["options"] or []
                          if label in expect["options"]]
    leaks += [marker for marker in expect["records"] if marker in page]
    leaks += [name for name in expect["units"] if re.search(rf"\b{re.escape(name)}\b", page)]
    return leaks


def test_concurrent_users_of_different_units_see_only_their_own(make_app):
    """Many list pages, from five users of different units at once, on a threaded
    server: no page shows another unit's name or record, in the rows, the filter
    options or anywhere else, and none answers 5xx. The count is printed (pytest -s)."""
    app = make_app()
    created = None
    try:
        with app.app_context():
            world = _crowd_world()
            created = world["created"]
            expect = _crowd_expectations(world)
            cookies = {name: _session_cookie(app, user) for name, user in world["users"].items()}
        jobs = [(name, f"/admin/{page}/".replace("//", "/"))
                for pages, rounds in ((CROWD_PAGES, CROWD_ROUNDS),
                                      (CROWD_BURST, CROWD_BURST_ROUNDS))
                for _round in range(rounds) for name, (role, _code) in CROWD.items()
                for page in pages[role]]
        switch = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # threads take turns often: races show, not hide
        try:
            with _threaded_server(app) as base, ThreadPoolExecutor(CROWD_THREADS) as pool:
                pages = list(pool.map(
                    lambda job: (job, _fetch(base + job[1], cookies[job[0]])), jobs))
        finally:
            sys.setswitchinterval(switch)
    finally:
        with app.app_context():
            db.session.rollback()
            if created:
                _remove_crowd_world(created)
    failures = [(name, url, status) for (name, url), (status, _page) in pages
                if status != 200]
    leaks = [(name, url, _crowd_leaks(page, expect[name]))
             for (name, url), (_status, page) in pages]
    leaks = [leak for leak in leaks if leak[2]]
    assert not failures, failures[:5]
    assert not leaks, f"{len(leaks)} of {len(pages)} pages leak: {leaks[:5]}"
    print(f"\nconcurrent scope: {len(pages)} pages from {len(CROWD)} users, 0 leaks, 0 5xx")


def _session_cookie(app, user) -> tuple[str, str]:
    """The session cookie of ``user`` logged in (past the second factor), and the
    browser name Flask-Login's strong protection ties it to."""
    from tests.conftest import Browser

    b = Browser(app, user)
    return b.client.get_cookie("session").value, b.client.environ_base["HTTP_USER_AGENT"]


@contextlib.contextmanager
def _threaded_server(app):
    """The app on werkzeug's threaded server, on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def _fetch(url: str, cookie: tuple[str, str]) -> tuple[int, str]:
    session, agent = cookie
    response = requests.get(url, cookies={"session": session, "lang": "en"},
                            headers={"User-Agent": agent}, timeout=60, allow_redirects=False)
    return response.status_code, response.text


def test_the_photo_route_follows_the_matrix(app, browser, staff, probes):
    """A member view's photo route serves the photo of exactly the rows that view shows
    the role; the rest answer 404 (or 403 where the view is closed to the role)."""
    from PIL import Image

    from backoffice.services import photos

    picture = io.BytesIO()
    Image.new("RGB", (32, 32), "teal").save(picture, "PNG")
    with app.test_request_context():
        for marker in (M_IN, M_OUT):
            photos.attach(db.session.get(Member, probes[marker]), picture.getvalue())
        db.session.commit()
    count = 0
    for view in ("members", "queue"):
        for role, visible in EXPECT[view].items():
            b = browser(staff[role])
            for marker in (M_IN, M_OUT):
                status = b.get(f"/admin/{view}/photo/file/?id={probes[marker]}").status_code
                expected = 403 if visible is FORBIDDEN else 200 if marker in visible else 404
                assert status == expected, (view, role, marker)
                count += 1
    assert count == 40
