"""The cross-script duplicate check: planted pairs found, false positives over 10,000
distinct demo members.

    .venv/bin/python benchmarks/duplicates.py            # 10,000 members, seed 2026
    .venv/bin/python benchmarks/duplicates.py --members 50000 --seed 7 --show 20

Members come from the demo's own MemberFactory (Hindi and English names from
Faker's hi_IN and en_IN, a father's or husband's name sharing the surname, a
birth date 18 to 80 years back), the same rows `backoffice demo` inserts. Two
members are *distinct* unless their name, relative's name and birth year are
the same as typed (the factory draws names from pools, so a few exact repeats
occur: those are one person by any reading, and are dropped first). A false
positive is a member of a distinct pair sharing a duplicate key
(backoffice/phonetic.py): what the database compares when a member is recorded
and in the audit report, so counting key collisions here counts what the app
would flag.

Planted: realistic pairs of one person written in Devanagari and in Latin
letters (the spellings people use: Kamla, Kamala; Sahu, Sahoo; Laxmi,
Lakshmi; Krishna, Pandey, Rajender, Tandon, Kishore, Champa, Jai, Chowdhary,
Amruta), same relative, same birth year: each must share a key. And their
near misses (another birth year, another relative): none may.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from datetime import date

from backoffice import phonetic
from backoffice.services.demo import MemberFactory

PLANTED = (  # (Devanagari name, relative), (Latin name, relative)
    (("कमला बघेल", "रमेश बघेल"), ("Kamla Baghel", "Ramesh Baghel")),
    (("कमला बघेल", "रमेश बघेल"), ("Kamala Baghel", "Ramesh Baghel")),
    (("लक्ष्मी साहू", "दीपक साहू"), ("Laxmi Sahoo", "Deepak Sahu")),
    (("लक्ष्मी साहू", "दीपक साहू"), ("Lakshmi Sahu", "Dipak Sahu")),
    (("संजय सिंह ठाकुर", "विजय सिंह ठाकुर"), ("Sanjay Singh Thakur", "Vijay Singh Thakur")),
    (("पूजा यादव", "मुकेश यादव"), ("Pooja Yadav", "Mukesh Yadav")),
    (("गीता वर्मा", "राजेश वर्मा"), ("Geeta Verma", "Rajesh Varma")),
    (("सुनीता शर्मा", "सुरेश शर्मा"), ("Sunita Sharma", "Suresh Sharma")),
    (("प्रियंका श्रीवास्तव", "देवेंद्र श्रीवास्तव"),
     ("Priyanka Shrivastava", "Devendra Srivastava")),
    (("अंकित जांगड़े", "रामलाल जांगड़े"), ("Ankit Jangde", "Ramlal Jangde")),
    (("आरती ध्रुव", "चंद्र ध्रुव"), ("Aarti Dhruv", "Chandra Dhruv")),
    (("ज़रीना निषाद", "मोहन निषाद"), ("Zarina Nishad", "Mohan Nishad")),
    (("सीमा मंडावी", "भोला मंडावी"), ("Seema Mandavi", "Bhola Mandavi")),
    (("राधा नेताम", "सुखराम नेताम"), ("Radha Netam", "Sukhram Netam")),
    (("ममता कुर्रे", "गणेश कुर्रे"), ("Mamta Kurre", "Ganesh Kurre")),
    (("रेखा पटेल", "हरीश पटेल"), ("Rekha Patel", "Harish Patel")),
    (("कृष्ण पांडे", "राजेंद्र पांडे"), ("Krishna Pandey", "Rajender Pandey")),
    (("किशोर टंडन", "ऋषि टंडन"), ("Kishore Tandon", "Rishi Tandon")),
    (("चंपा कँवर", "जय सिंह कँवर"), ("Champa Kanwar", "Jai Singh Kanwar")),
    (("सोनिया चौधरी", "सुरेंद्र चौधरी"), ("Sonia Chowdhary", "Surender Choudhary")),
    (("अमृता दुबे", "शंभू दुबे"), ("Amruta Dubey", "Shambhu Dubey")),
    (("पिंकी जायसवाल", "मुकुंद जायसवाल"), ("Pinky Jaiswal", "Mukund Jaiswal")),
)


def planted_check(born: date) -> tuple[int, int, list[str]]:
    """(pairs found, near misses flagged, the pairs missed)."""
    found, near, missed = 0, 0, []
    other_year = born.replace(year=born.year + 1)
    for (hi_name, hi_relative), (en_name, en_relative) in PLANTED:
        key = phonetic.duplicate_key(hi_name, hi_relative, born)
        if key == phonetic.duplicate_key(en_name, en_relative, born.replace(month=12)):
            found += 1
        else:
            missed.append(f"{hi_name} / {en_name}")
        near += key == phonetic.duplicate_key(en_name, en_relative, other_year)
        near += key == phonetic.duplicate_key(en_name, "Kishore " + en_name.split()[-1], born)
    return found, near, missed


def demo_members(count: int, seed: int) -> tuple[list[tuple[str, str, date]], int]:
    """``count`` distinct demo people (name, relative, birth date), and how many exact
    repeats the factory drew and were dropped."""
    factory = MemberFactory(seed, date(2026, 11, 30), 1_000_000)
    block = type("Block", (), {"id": 1, "name_hi": "बिल्हा"})()
    seen, people, repeats = set(), [], 0
    while len(people) < count:
        row = factory.member(block, {"division": 1, "district": 1}, [], [1], None)
        identity = (row["full_name"], row["relative_name"], row["date_of_birth"].year)
        if identity in seen:
            repeats += 1
            continue
        seen.add(identity)
        people.append((row["full_name"], row["relative_name"], row["date_of_birth"]))
    return people, repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--show", type=int, default=10, help="false positives to print")
    args = parser.parse_args()

    found, near, missed = planted_check(date(1980, 3, 4))
    print(f"planted cross-script pairs found: {found} / {len(PLANTED)}"
          + (f"  (missed: {'; '.join(missed)})" if missed else ""))
    print(f"near misses flagged (other birth year or other relative): {near} / "
          f"{2 * len(PLANTED)}")

    people, repeats = demo_members(args.members, args.seed)
    started = time.perf_counter()
    groups = defaultdict(list)
    for person in people:
        groups[phonetic.duplicate_key(*person)].append(person)
    per_key_us = (time.perf_counter() - started) / len(people) * 1e6
    flagged = [group for key, group in groups.items() if key and len(group) > 1]
    members = sum(len(group) for group in flagged)
    print(f"\n{len(people):,} distinct demo members (seed {args.seed}; {repeats} exact repeats "
          f"drawn and dropped), {per_key_us:.0f} µs per duplicate key")
    print(f"false positives: {members} members in {len(flagged)} groups "
          f"({members / len(people):.3%})")
    for group in flagged[:args.show]:
        print("   ", " | ".join(f"{name} ({relative}, {born.year})"
                                for name, relative, born in group))


if __name__ == "__main__":
    main()
