"""Names as Latin phonetic keys, whichever script they were typed in: the search key
that finds members as people type them, and the key of the same person recorded
in two scripts. Below models and services: the model keeps its keys with it.

A member's name is kept, besides as typed, as a *search key*: each word of the
name reduced to a Latin phonetic key, whichever script it was typed in. A
Devanagari word is romanised (ISO 15919, by indic-transliteration), then the
same folding as a Latin word: diacritics dropped, aspirates and sibilants merged
(bh/b, sh/s/ṣ, ch/c), v/w, z/j, x/ks, ee/i, oo/u, every "a" after a word's first
letter dropped (Hindi drops the inherent vowel that a romanised spelling keeps
or not: कमला, Kamla and Kamala all read ``kml``), doubled letters once. The key
is stored as `` kml bgel `` (a space either side of every word), so "any word of
the name starting with what was typed" is one LIKE '% bg%' that a trigram index
answers on PostgreSQL (docs/search.md, services/search.py).

The *duplicate key* is a digest of the name's key, the relative's name's key and
the birth year: "कमला बघेल, d/o रमेश बघेल, 1980" and "Kamla Baghel, d/o Ramesh
Baghel, 1980" share it. Both keys are personal data derived from the name:
erasure empties them with it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date
from functools import lru_cache

from indic_transliteration import sanscript

#: longest key stored (the column's width); a name has at most 150 characters
KEY_LENGTH = 300
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_WORD = re.compile(r"[a-z]+")
# Applied in order, on lower-case ASCII. Digraphs before single letters.
_FOLDS = (
    ("ksh", "ks"), ("x", "ks"), ("chh", "c"), ("ch", "c"), ("sh", "s"),
    ("kh", "k"), ("gh", "g"), ("jh", "j"), ("th", "t"), ("dh", "d"), ("ph", "p"),
    ("bh", "b"), ("f", "p"), ("q", "k"), ("z", "j"), ("w", "v"),
    ("ee", "i"), ("oo", "u"), ("au", "o"), ("ou", "o"), ("ai", "e"),
)
_CONSONANT = "bcdfghjklmnpqrstvwxyz"
# The anusvara (ं, romanised ṁ) is an n before a consonant: संजय is Sanjay.
_ANUSVARA = re.compile(r"ṁ(?=[^aāiīuūeēoōr̥\s]|$)")
# ...and before h it sounds ng: सिंह is Singh.
_ANUSVARA_H = re.compile(r"ṁh")
# An "e" before two consonants is often a romanised inherent vowel (Verma, वर्मा).
_E_BEFORE_CLUSTER = re.compile(rf"(?<=.)e(?=[{_CONSONANT}]{{2}})")
_DOUBLED = re.compile(r"(.)\1+")


@lru_cache(maxsize=16384)
def _keys_of_word(text: str) -> tuple[str, ...]:
    """One space-separated word's keys (a hyphenated word gives two), cached: names
    repeat, and romanising is the cost of a key (a paper import keys 20,000 rows)."""
    return tuple(_fold(word) for word in _WORD.findall(_romanised(text)))


def _romanised(text: str) -> str:
    if _DEVANAGARI.search(text):
        text = sanscript.transliterate(text, sanscript.DEVANAGARI, sanscript.ISO)
        text = _ANUSVARA.sub("n", _ANUSVARA_H.sub("ngh", text))
        text = text.replace("ṛ", "d")  # ड़ is written d as often as r: Jangde, जांगड़े
        text = text.replace("jñ", "gy")  # ज्ञ is said and written gy: ज्ञान, Gyan
    # Drop diacritics (ā -> a, ṣ -> s, ṭ -> t): what a Latin keyboard types.
    plain = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in plain if c.isascii())


@lru_cache(maxsize=4096)
def _fold(word: str) -> str:
    for source, target in _FOLDS:
        word = word.replace(source, target)
    word = word[:1] + word[1:].replace("a", "")
    word = _E_BEFORE_CLUSTER.sub("", word)
    return _DOUBLED.sub(r"\1", word)


def phonetic_words(text: str | None) -> list[str]:
    """The name's words as phonetic keys, in order: "कमला बघेल" -> ["kml", "bgel"]."""
    return [key for word in (text or "").split() for key in _keys_of_word(word)]


def search_key(full_name: str | None) -> str | None:
    """The stored search key: `` kml bgel `` (None for an empty or erased name)."""
    words = phonetic_words(full_name)
    if not words:
        return None
    return (" " + " ".join(words) + " ")[:KEY_LENGTH]


def duplicate_key(full_name: str | None, relative_name: str | None,
                  date_of_birth: date | None) -> str | None:
    """A fixed-width digest of name, relative's name and birth year, or None when
    one of them is missing."""
    name, relative = phonetic_words(full_name), phonetic_words(relative_name)
    if not name or not relative or date_of_birth is None:
        return None
    text = f"{' '.join(name)}|{' '.join(relative)}|{date_of_birth.year}"
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def member_keys(values) -> dict:
    """The two key columns for a member's values (a dict of columns), for bulk inserts;
    the model keeps them itself on every ORM write (models/members.py)."""
    return {"search_key": search_key(values.get("full_name")),
            "duplicate_key": duplicate_key(values.get("full_name"),
                                           values.get("relative_name"),
                                           values.get("date_of_birth"))}
