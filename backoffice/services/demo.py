"""Demo data: the Chhattisgarh hierarchy, a login for every role, synthetic members.

Members go in through Core bulk inserts (not the ORM unit of work), so a
hundred thousand take seconds. Everything here is synthetic; nothing in it
is a real person.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import phonenumbers
import pyotp
from faker import Faker
from flask import current_app
from phonenumbers import PhoneNumberType
from sqlalchemy import func, insert, select

from backoffice import audit, phonetic
from backoffice.auth.passwords import hash_password
from backoffice.auth.roles import SECOND_FACTOR_REQUIRED
from backoffice.extensions import db
from backoffice.models import Member, RoleAssignment, StaffUser, Unit, utcnow
from backoffice.services import units as unit_service
from backoffice.services.validation import clean_name

GENERATED_BLOCKS_PER_DISTRICT = 3
ZONES_PER_BLOCK = 2
BATCH = 5000


@dataclass(frozen=True)
class DemoLogin:
    role: str
    unit: str
    login: str
    name: str
    unit_en: str


# (role, unit code, login email, name): realistic units in Bilaspur division,
# two neighbouring blocks (Bilha, Masturi) so scoping can be seen side by side.
DEMO_STAFF = (
    ("state_admin", "CG", "admin@demo.sadasya.in", "राजेश वर्मा"),
    ("division_incharge", "DIV-BILASPUR", "division.bilaspur@demo.sadasya.in", "Sunita Patel"),
    ("district_president", "DIST-BILASPUR", "district.bilaspur@demo.sadasya.in", "विजय केशरवानी"),
    ("block_president", "BLK-BILHA", "block.bilha@demo.sadasya.in", "Anita Sahu"),
    ("block_president", "BLK-MASTURI", "block.masturi@demo.sadasya.in", "दिलीप लहरिया"),
    ("enroller", "BLK-BILHA", "enroller.bilha@demo.sadasya.in", "रामेश्वर साहू"),
    ("enroller", "BLK-MASTURI", "enroller.masturi@demo.sadasya.in", "Kavita Yadav"),
    ("returning_officer", "DIST-BILASPUR", "ro.bilaspur@demo.sadasya.in", "Mohan Markam"),
)


def load_hierarchy() -> dict[str, Unit]:
    """The shipped units, plus generated blocks (labelled) where no list was shipped."""
    by_code = unit_service.load_units(unit_service.read_units_csv())
    districts_with_blocks = {u.parent_id for u in by_code.values() if u.level == "block"}
    generated = []
    for district in [u for u in by_code.values() if u.level == "district"]:
        if district.id in districts_with_blocks:
            continue
        for n in range(1, GENERATED_BLOCKS_PER_DISTRICT + 1):
            generated.append(_row("block", f"{district.code.replace('DIST-', 'BLK-')}-{n}",
                                  district.code, f"{district.name_en} block {n}",
                                  f"{district.name_hi} ब्लॉक {n}"))
    by_code = unit_service.load_units(generated, is_generated=True)
    zones = [
        _row("zone", f"ZONE-{block.code[4:]}-{n}", block.code, f"{block.name_en} zone {n}",
             f"{block.name_hi} ज़ोन {n}")
        for block in by_code.values() if block.level == "block"
        for n in range(1, ZONES_PER_BLOCK + 1)
    ]
    return unit_service.load_units(zones, is_generated=True)


def _row(level, code, parent_code, name_en, name_hi) -> dict[str, str]:
    return {"level": level, "code": code, "parent_code": parent_code,
            "name_en": name_en, "name_hi": name_hi}


def create_demo_staff(by_code: dict[str, Unit], password: str) -> list[DemoLogin]:
    logins = []
    for role, code, email, name in DEMO_STAFF:
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        if user is None:
            user = StaffUser(full_name=name, email=email, password_hash=hash_password(password))
            if role in SECOND_FACTOR_REQUIRED:  # `backoffice totp-code` prints their codes
                user.totp_secret, user.totp_enabled = pyotp.random_base32(), True
            db.session.add(user)
            db.session.flush()
            db.session.add(RoleAssignment(user_id=user.id, role=role, unit_id=by_code[code].id))
        logins.append(DemoLogin(role, by_code[code].name_hi, email, name, by_code[code].name_en))
    return logins


def create_enrollers(blocks: list[Unit], password_hash: str) -> dict[int, list[int]]:
    """Two synthetic enrollers per block, who 'recorded' the synthetic members.

    They share one password hash: hashing hundreds of demo passwords with
    Argon2 would take half a minute and protects nothing here.
    """
    existing = db.session.scalar(select(func.count()).select_from(StaffUser)) or 0
    by_block: dict[int, list[int]] = {}
    for index, block in enumerate(blocks):
        ids = []
        for n in range(2):
            user = StaffUser(full_name=f"{block.name_hi} नामांकनकर्ता {n + 1}",
                             email=f"enroller{existing + index * 2 + n}@synthetic.sadasya.in",
                             password_hash=password_hash)
            db.session.add(user)
            db.session.flush()
            db.session.add(RoleAssignment(user_id=user.id, role="enroller", unit_id=block.id))
            ids.append(user.id)
        by_block[block.id] = ids
    return by_block


_OPTIONAL_KEYS = (
    "verified_at", "verified_by_id", "approved_at", "approved_by_id", "rejected_at",
    "rejected_by_id", "status_reason",
)


class MemberFactory:
    """Synthetic members in Hindi and English, valid mobiles and unique EPICs."""

    def __init__(self, seed: int, today: date, epic_start: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - repeatable demo data, not secrets
        self.today = today
        self.epic_next = epic_start
        hindi, english = Faker("hi_IN"), Faker("en_IN")
        hindi.seed_instance(seed)
        english.seed_instance(seed + 1)
        # Name pools, cleaned by the same rule as typed names.
        self.names = {
            (script, kind): [clean_name(make()) for _ in range(300)]
            for script, faker in (("hi", hindi), ("en", english))
            for kind, make in (("female", faker.first_name_female),
                               ("male", faker.first_name_male), ("last", faker.last_name))
        }

    def mobile(self) -> str:
        while True:
            number = phonenumbers.parse(f"+91{self.rng.randint(6000000000, 9999999999)}")
            if (phonenumbers.is_valid_number(number)
                    and phonenumbers.number_type(number) == PhoneNumberType.MOBILE):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def member(self, block: Unit, ancestors: dict[str, int], zones: list[int],
               enrollers: list[int], approver: int | None) -> dict:
        rng = self.rng
        script = "hi" if rng.random() < 0.55 else "en"
        gender = "female" if rng.random() < 0.42 else "male"
        last = rng.choice(self.names[(script, "last")])
        father = f"{rng.choice(self.names[(script, 'male')])} {last}"
        married = gender == "female" and rng.random() < 0.6
        created = self._moment()
        status = rng.choices(["recorded", "phone_verified", "approved", "rejected"],
                             weights=[12, 23, 60, 5])[0]
        self.epic_next += 1
        row = {
            "full_name": f"{rng.choice(self.names[(script, gender)])} {last}",
            "relative_name": father, "relation": "husband" if married else "father",
            "gender": gender,
            "date_of_birth": self.today - timedelta(days=rng.randint(18 * 366, 80 * 365)),
            "mobile": self.mobile(),
            "epic": f"{rng.choice(['CGA', 'BSP', 'RPR', 'KRB', 'JNG'])}{self.epic_next:07d}",
            "address": f"ग्राम {rng.randint(1, 400)}, {block.name_hi}",
            "booth_no": str(rng.randint(1, 240)),
            "division_id": ancestors["division"], "district_id": ancestors["district"],
            "block_id": block.id, "zone_id": rng.choice(zones) if zones else None,
            "channel": rng.choices(["enroller", "self", "paper"], weights=[70, 10, 20])[0],
            "status": status, "consent_notice_version": "2026-11",
            "consent_at": created, "created_at": created, "updated_at": created,
            "fee_receipt_no": f"R-{rng.randint(100000, 999999)}",
        }
        row.update(dict.fromkeys(_OPTIONAL_KEYS))  # one key set: one executemany batch
        row.update(phonetic.member_keys(row))  # a bulk insert: no ORM event keeps them
        row["recorded_by_id"] = rng.choice(enrollers) if row["channel"] != "self" else None
        if status != "recorded":
            row["verified_at"] = created + timedelta(minutes=rng.randint(1, 30))
            row["verified_by_id"] = row["recorded_by_id"]
        if status == "approved":
            row["approved_at"] = created + timedelta(hours=rng.randint(2, 96))
            row["approved_by_id"] = approver
        elif status == "rejected":
            row["rejected_at"] = created + timedelta(hours=rng.randint(2, 96))
            row["rejected_by_id"] = approver
            row["status_reason"] = "दस्तावेज़ अधूरे / Incomplete documents"
        return row

    def _moment(self) -> datetime:
        """A time in the past six weeks, mostly during Indian daytime."""
        day = utcnow() - timedelta(days=self.rng.randint(0, 41))
        hour_ist = self.rng.choices(range(24), weights=[1] * 7 + [6] * 13 + [2] * 4)[0]
        moment = day.replace(hour=0, minute=0, second=0, microsecond=0)
        return moment + timedelta(hours=hour_ist - 5.5, minutes=self.rng.randint(0, 59))


def seed_members(count: int, *, seed: int = 2026) -> int:
    """Insert ``count`` synthetic members spread over every block, in bulk."""
    blocks = list(db.session.scalars(select(Unit).where(Unit.level == "block").order_by(Unit.id)))
    zones: dict[int, list[int]] = {}
    for zone in db.session.scalars(select(Unit).where(Unit.level == "zone")):
        zones.setdefault(zone.parent_id, []).append(zone.id)
    approvers = dict(db.session.execute(
        select(RoleAssignment.unit_id, RoleAssignment.user_id)
        .where(RoleAssignment.role == "block_president")).all())
    password_hash = hash_password(current_app.config["DEMO_PASSWORD"])
    enrollers = create_enrollers(blocks, password_hash)
    ancestors = {block.id: unit_service.ancestors(block) for block in blocks}
    epic_start = (db.session.scalar(select(func.count()).select_from(Member)) or 0) + 1_000_000
    factory = MemberFactory(seed, date.today(), epic_start)
    # Bilaspur division's real blocks get more members: they are the demo's focus.
    weights = [1 if block.is_generated else 4 for block in blocks]
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        rows = [
            factory.member(block, ancestors[block.id], zones.get(block.id, []),
                           enrollers[block.id], approvers.get(block.id))
            for block in factory.rng.choices(blocks, weights=weights, k=size)
        ]
        # Synthetic rows: one event each, so each carries its row's state (audit.state).
        made = db.session.execute(insert(Member).returning(Member.id, Member.block_id), rows,
                                  execution_options={"audited": True})
        for member_id, block_id in made:
            audit.record("member.seed", entity_type="member", entity_id=member_id,
                         unit_id=block_id)
        done += size
    audit.record("demo.seed", details={"members": done, "seed": seed})
    return done
