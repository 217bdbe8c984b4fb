"""The member search and its keys: words of a name in either script, phone tails for
those who see phones, membership numbers in part."""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, update

from backoffice import phonetic
from backoffice.auth.roles import MEMBER_VIEW
from backoffice.auth.scoping import member_filter
from backoffice.extensions import db
from backoffice.models import AuditEvent, Member, RoleAssignment
from backoffice.services import erasure, imports
from backoffice.services.membership_numbers import format_membership_no
from backoffice.services.search import DUPLICATES_SHOWN, member_search
from tests import factories
from tests.services.test_imports import GOOD, csv_bytes, run

# A Devanagari name and the Latin spellings people write it with, by what the key has
# to fold (backoffice/phonetic.py): each Latin spelling must share the name's key.
SAME_NAME = {
    "the inherent vowel written or not, and as e or o": [
        ("कमला बघेल", "Kamla Baghel"), ("कमला", "Kamala"), ("वर्मा", "Verma"),
        ("सुरेंद्र", "Surender"), ("राजेंद्र", "Rajender"), ("चंद्र", "Chander"),
        ("इंद्र", "Inder"), ("सुंदर", "Sunder"), ("टंडन", "Tandon"), ("टंडन", "Tandan"),
        ("मिश्र", "Mishra"), ("गोवर्धन", "Gowardhan"), ("मुख़र्जी", "Mukherjee"),
        ("लखन", "Lakhan"), ("दुकालू", "Dukalu"), ("मनहरण", "Manharan"),
    ],
    "the anusvara and chandrabindu before a consonant": [
        ("संजय सिंह", "Sanjay Singh"), ("शंकर", "Shankar"), ("शङ्कर", "Shanker"),
        ("चंपा", "Champa"), ("चम्पा", "Champa"), ("अंबिका", "Ambika"),
        ("संपत", "Sampat"), ("कुंभकार", "Kumbhkar"), ("आनंद", "Anand"),
        ("गोविंद", "Govind"), ("कँवर", "Kanwar"), ("कुँवर", "Kunwar"),
        ("पांडे", "Pande"), ("मंडावी", "Mandavi"), ("प्रियंका", "Priyanka"),
    ],
    "retroflex and dental, ड़ and ण": [
        ("ठाकुर", "Thakur"), ("टेकाम", "Tekam"), ("जांगड़े", "Jangde"),
        ("लक्ष्मण", "Laxman"), ("मृणाल", "Mrunal"), ("गणेश", "Ganesh"),
        ("पाण्डेय", "Pandey"), ("रेड्डी", "Reddy"),
    ],
    "ऋ written ri or ru": [
        ("कृष्ण", "Krishna"), ("कृष्णा", "Krishna"), ("कृष्ण", "Krushna"),
        ("ऋषि", "Rishi"), ("ऋतु", "Ritu"), ("ऋचा", "Richa"), ("अमृता", "Amrita"),
        ("अमृता", "Amruta"), ("पृथ्वी", "Prithvi"), ("बृजेश", "Brijesh"),
        ("तृप्ति", "Trupti"), ("मृत्युंजय", "Mrityunjay"), ("वृंदा", "Vrinda"),
        ("हृदय", "Hriday"), ("नृपेंद्र", "Nripendra"),
    ],
    "v and w, sh and s, ksh and x, z and j, f and ph, q and k": [
        ("देवांगन", "Dewangan"), ("देवांगन", "Devangan"), ("ध्रुव", "Dhruw"),
        ("ईश्वर", "Ishwar"), ("श्रीवास्तव", "Srivastava"), ("श्रीवास्तव", "Shrivastav"),
        ("शिव", "Siv"), ("लक्ष्मी वर्मा", "Laxmi Verma"), ("लक्ष्मी", "Lakshmi"),
        ("ज़रीना", "Zarina"), ("फूलबाई", "Fulbai"), ("क़ुरेशी", "Qureshi"), ("क़ासिम", "Qasim"),
        ("ज्ञानेश्वर", "Gyaneshwar"),
    ],
    "aspirates": [
        ("भूपेश", "Bhupesh"), ("अभिषेक", "Abhishek"), ("घनश्याम", "Ghanshyam"),
        ("छाया", "Chhaya"), ("झा", "Jha"), ("धनेश्वरी", "Dhaneshwari"),
        ("सुखराम", "Sukhram"), ("बुधराम", "Budhram"), ("फगुआ", "Phagua"),
    ],
    "long vowels, ai and ay, au and ow, final e and y": [
        ("दीपक साहू", "Deepak Sahoo"), ("पूजा यादव", "Pooja Yadav"), ("गीता", "Geeta"),
        ("पूनम", "Punam"), ("रूपेश", "Roopesh"), ("आरती", "Aarti"), ("आकाश", "Aakash"),
        ("जय", "Jai"), ("जय", "Jay"), ("जयप्रकाश", "Jaiprakash"), ("जैन", "Jain"),
        ("जायसवाल", "Jaiswal"), ("कैलाश", "Kailash"), ("वैभव", "Vaibhav"),
        ("चौधरी", "Chowdhary"), ("चौधरी", "Choudhary"), ("चौहान", "Chouhan"),
        ("गौतम", "Gautam"), ("दुबे", "Dubey"), ("चौबे", "Chaubey"), ("पिंकी", "Pinky"),
        ("किशोर", "Kishore"), ("राठौर", "Rathore"), ("सोनिया", "Sonia"),
        ("सोनिया", "Soniya"), ("प्रिया", "Priya"),
    ],
    "double letters": [
        ("कुर्रे", "Kure"), ("भट्ट", "Bhatt"), ("अग्रवाल", "Aggarwal"),
        ("अग्रवाल", "Agarwal"), ("छत्तीसगढ़", "Chhatisgadh"), ("पिल्लई", "Pillay"),
    ],
}


@pytest.mark.parametrize(("hindi", "latin"), [
    pytest.param(hindi, latin, id=f"{latin} ({kind})")
    for kind, pairs in SAME_NAME.items() for hindi, latin in pairs])
def test_a_devanagari_name_and_its_latin_spelling_share_a_key(hindi, latin):
    assert phonetic.search_key(hindi) == phonetic.search_key(latin)


@pytest.mark.parametrize(("name", "typed"), [
    ("कृष्ण", "Kri"), ("कृष्ण", "Krus"), ("ध्रुव", "Dhru"), ("चौधरी", "Chow"),
    ("सोनिया", "Soniy"), ("जायसवाल", "Jais"), ("सुरेंद्र", "Suren"), ("बघेल", "Bagh"),
    ("वर्मा", "Ver"), ("रामेश्वर", "Ramesh"), ("देवेंद्र", "देवेन"), ("Pandey", "pande"),
])
def test_a_name_is_found_as_it_is_being_typed(name, typed):
    """Each word typed so far begins the name's key, in either script, read as a whole
    word or as one still being typed."""
    key = phonetic.search_key(name)
    assert all(any(f" {word}" in key for word in keys)
               for keys in phonetic.typed_words(typed))


@pytest.mark.parametrize(("one", "other"), [
    ("Kamla", "Komal"), ("Ramesh", "Mahesh"), ("Sunita", "Sarita"), ("सिंह", "सिन्हा"),
    ("Pritam", "Pratham"), ("Krishna", "Karishma"), ("Rishi", "Rashi"), ("Ritu", "Rita"),
    ("Champa", "Chanda"), ("Sampat", "Santosh"), ("Tandon", "Tanuja"), ("Pandey", "Pandit"),
    ("Dubey", "Dumre"), ("Kishore", "Kishan"), ("Jain", "Jaiswal"), ("Sonia", "Sunaina"),
    ("Surender", "Suresh"), ("Inder", "Indu"), ("Mohan", "Mohini"), ("Shruti", "Smriti"),
    ("Kanwar", "Kunwar"), ("Chaubey", "Chauhan"), ("Priya", "Piyush"), ("Ankit", "Anil"),
    ("राम", "रीमा"), ("कृष्णा", "करुणा"), ("शंकर", "शेखर"), ("सरिता", "सुरता"),
    ("विनोद", "विनीता"), ("गीता", "गौतम"), ("सुनील", "सुनीता"), ("अमित", "अमृत"),
])
def test_different_names_keep_different_keys(one, other):
    assert phonetic.search_key(one) != phonetic.search_key(other)


def test_the_duplicate_key_needs_names_and_a_birth_year():
    born = date(1980, 3, 4)
    key = phonetic.duplicate_key("कमला बघेल", "रमेश बघेल", born)
    assert key == phonetic.duplicate_key("Kamla Baghel", "Ramesh Baghel", date(1980, 9, 1))
    assert key != phonetic.duplicate_key("Kamla Baghel", "Ramesh Baghel", date(1981, 3, 4))
    assert key != phonetic.duplicate_key("Kamla Baghel", "Suresh Baghel", born)
    assert phonetic.duplicate_key("", "Ramesh Baghel", born) is None


@pytest.fixture
def people(app, units, ctx):
    bilha, masturi = units["BLK-BILHA"], units["BLK-MASTURI"]
    return {
        "kamla": factories.member(bilha, full_name="कमला बघेल", mobile="+919812345678"),
        "kamla_en": factories.member(bilha, full_name="Kamla Baghel"),
        "komal": factories.member(bilha, full_name="Komal Verma"),
        "masturi": factories.member(masturi, full_name="कमला साहू", mobile="+919812340678"),
    }


def _found(user, term) -> set[int]:
    return set(db.session.scalars(select(Member.id).where(
        member_search(user, term), member_filter(user, MEMBER_VIEW))))


def _ids(people, *names) -> set[int]:
    return {people[name].id for name in names}


@pytest.mark.parametrize(("term", "expected"), [
    ("बघेल", ("kamla", "kamla_en")),  # the surname alone, in Hindi
    ("baghel", ("kamla", "kamla_en")),
    ("kamla", ("kamla", "kamla_en", "masturi")),  # a Latin spelling finds Devanagari
    ("Kamala", ("kamla", "kamla_en", "masturi")),
    ("कमला", ("kamla", "kamla_en", "masturi")),
    ("bagh", ("kamla", "kamla_en")),  # as it is being typed
    ("baghel kam", ("kamla", "kamla_en")),  # every word typed must match, in any order
    ("verma", ("komal",)),
    ("ver", ("komal",)),  # Verma's key drops the e: "ver" is read as being typed too
    ("aghel", ()),  # a word's middle is not its beginning
])
def test_name_words_in_either_script(staff, people, term, expected):
    assert _found(staff["district"], term) == _ids(people, *expected)


def test_a_phone_tail_finds_members_for_staff_who_see_phones(staff, people):
    assert _found(staff["district"], "5678") == _ids(people, "kamla")
    assert _found(staff["district"], "345678") == _ids(people, "kamla")
    assert _found(staff["district"], "0678") == _ids(people, "masturi")
    assert _found(staff["bilha"], "0678") == set()  # Masturi is not the block's


def test_roles_that_see_masked_phones_cannot_search_their_tails(staff, people):
    for who in ("division", "ro"):
        assert _found(staff[who], "5678") == set(), who
        assert _found(staff[who], "+91 98123 45678") == _ids(people, "kamla"), who


def test_a_membership_number_without_its_prefix_or_zeros(app, staff, people):
    member = people["komal"]
    number = format_membership_no(member.id)
    digits = number[len(app.config["MEMBERSHIP_PREFIX"]):]
    for term in (number, digits, digits.lstrip("0"), str(member.id), number.lower()):
        assert member.id in _found(staff["district"], term), term


def test_erasure_empties_the_keys(staff, people):
    member = people["kamla"]
    erasure.erase(staff["district"], member.id, "The member asked")
    db.session.flush()
    db.session.refresh(member)
    assert member.search_key is None and member.duplicate_key is None
    assert member.id not in _found(staff["district"], "baghel")


def test_a_correction_updates_the_key(staff, people):
    member = people["komal"]
    member.full_name = "Komal Baghel"
    db.session.flush()
    assert member.id in _found(staff["district"], "बघेल")


@pytest.mark.parametrize("term", ["", "   ", "%", "_", "\\", "' OR 1=1 --", "%%%%", "!!!"])
def test_odd_terms_find_nothing_and_do_not_fail(staff, people, term):
    assert _found(staff["district"], term) == set()


def test_a_phone_tail_stays_among_the_phones_a_mixed_user_sees(staff, people, units):
    """A returning officer of the district who is also Bilha's block president sees
    Bilha's phones unmasked and Masturi's masked: the tail finds Bilha's only."""
    user = factories.staff_with_role("returning_officer", units["DIST-BILASPUR"])
    factories.staff_with_role("block_president", units["BLK-BILHA"])  # someone else
    db.session.add(RoleAssignment(user_id=user.id, role="block_president",
                                  unit_id=units["BLK-BILHA"].id))
    db.session.flush()
    assert _found(user, "5678") == _ids(people, "kamla")
    assert _found(user, "0678") == set()  # Masturi's phone, masked for this user
    assert _found(user, "कमला साहू") == _ids(people, "masturi")  # its name is searchable


def test_a_paper_import_keeps_the_keys_and_flags_a_cross_script_duplicate(staff, units,
                                                                          people):
    existing = factories.member(units["BLK-MASTURI"], full_name="कमला बघेल",
                                relative_name="रमेश बघेल", date_of_birth=date(1980, 3, 4))
    row = ["Kamla Baghel", "Ramesh Baghel", *GOOD[2:4], "01/11/1980", "9876500011",
           "CGA7654321", *GOOD[7:]]
    batch = run(staff, units, csv_bytes([row, GOOD]))
    assert imports.commit(staff["district"], batch.id) == 2
    db.session.commit()
    imported = db.session.scalar(select(Member).where(
        Member.import_batch_id == batch.id, Member.full_name == "Kamla Baghel"))
    assert imported.search_key == " kml bgel " and imported.duplicate_key
    flags = db.session.execute(select(AuditEvent.entity_id, AuditEvent.details).where(
        AuditEvent.action == "member.possible_duplicate",  # this test's (the log keeps all)
        AuditEvent.entity_id.in_([existing.id, imported.id]))).all()
    assert sorted((entity, json.loads(details)["others"]) for entity, details in flags) == [
        (existing.id, [imported.id]), (imported.id, [existing.id])]  # each side, its block


def test_a_file_of_identical_forms_flags_each_naming_a_bounded_few(staff, units, people):
    """30 copies of one form (each its own phone and voter ID): every member is flagged,
    each naming at most DUPLICATES_SHOWN others, read per key, not joined pairwise."""
    rows = [[*GOOD[:5], f"98765{n:05d}", f"CGZ{n:07d}", *GOOD[7:]] for n in range(30)]
    batch = run(staff, units, csv_bytes(rows))
    assert imports.commit(staff["district"], batch.id) == 30
    db.session.commit()
    mine = select(Member.id).where(Member.import_batch_id == batch.id)
    others = [json.loads(details)["others"] for (details,) in db.session.execute(
        select(AuditEvent.details).where(AuditEvent.action == "member.possible_duplicate",
                                         AuditEvent.entity_id.in_(mine)))]
    assert len(others) == 30
    assert all(0 < len(named) <= DUPLICATES_SHOWN for named in others)


def test_the_rekey_migration_brings_stored_keys_up_to_date(people):
    """Keys stored by an older folding are recomputed by migration 0022; rows already
    current are left alone."""
    path = (Path(__file__).parents[2] / "backoffice" / "migrations" / "versions"
            / "0022_member_rekey.py")
    spec = importlib.util.spec_from_file_location("rekey_0022", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    member = people["kamla"]
    db.session.connection().execute(update(Member).where(Member.id == member.id).values(
        search_key=" kamala bghel ", duplicate_key="stale"))
    assert migration.rekey(db.session.connection()) >= 1  # (rows other tests committed)
    db.session.expire(member)
    assert member.search_key == " kml bgel "
    assert member.duplicate_key == phonetic.duplicate_key(
        member.full_name, member.relative_name, member.date_of_birth)
    assert migration.rekey(db.session.connection()) == 0
