"""Input rules for members, in one place: every form, import and API uses these.

Each function returns the cleaned value or raises ValidationError with a
message in the user's language.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import phonenumbers
from flask_babel import lazy_gettext as _l
from phonenumbers import NumberParseException, PhoneNumberType

from backoffice.services.errors import ValidationError

MIN_AGE = 18
MAX_AGE = 120
MAX_NAME_LENGTH = 150
_EPIC_RE = re.compile(r"[A-Z]{3}[0-9]{7}")
_PHONE_CHARS_RE = re.compile(r"[0-9+()\-. ]+")
# Zero-width joiner and non-joiner choose how a Devanagari conjunct is drawn.
_NAME_PUNCTUATION = set(" .-'\u200c\u200d")
# Phone keyboards type curly apostrophes; store one kind so duplicates match.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def normalise_mobile(raw: str | None, *, field: str = "mobile") -> str:
    """An Indian mobile number in E.164 (+919876543210), or ValidationError.

    "10 digits starting 6-9" is not enough: phonenumbers knows which ranges
    are mobiles, fixed lines, toll-free or premium (docs/sms-otp.md).
    Only ASCII digits are accepted, so look-alike digits never reach a gateway.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_l("Enter a mobile number."), field=field)
    if len(text) > 24 or not _PHONE_CHARS_RE.fullmatch(text):
        raise ValidationError(
            _l("A mobile number may contain only the digits 0-9, spaces and +."), field=field
        )
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, "IN")
    except NumberParseException:
        raise ValidationError(_l("This is not a valid mobile number."), field=field) from None
    if phonenumbers.region_code_for_number(number) != "IN":
        raise ValidationError(_l("Only Indian mobile numbers (+91) can be used."), field=field)
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_l("This is not a valid Indian mobile number."), field=field)
    if phonenumbers.number_type(number) != PhoneNumberType.MOBILE:
        raise ValidationError(
            _l("This number is not a mobile number (landline, toll-free or premium)."),
            field=field,
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_epic(raw: str | None, *, field: str = "epic", required: bool = False) -> str | None:
    """An EPIC (voter ID) number: three letters and seven digits, upper case."""
    text = re.sub(r"\s+", "", raw or "").upper()
    if not text:
        if required:
            raise ValidationError(_l("Enter the voter ID (EPIC) number."), field=field)
        return None
    if not _EPIC_RE.fullmatch(text):
        raise ValidationError(
            _l("A voter ID (EPIC) number is three letters and seven digits, like ABC1234567."),
            field=field,
        )
    return text


def clean_name(raw: str | None, *, field: str = "full_name") -> str:
    """A person's name in Devanagari, Latin or both: NFC, trimmed, single spaces.

    NFC matters for Hindi: two keyboards can type the same name as different
    code point sequences, and duplicates must still be found.
    """
    text = " ".join(unicodedata.normalize("NFC", raw or "").translate(_APOSTROPHES).split())
    if not text:
        raise ValidationError(_l("Enter a name."), field=field)
    if len(text) > MAX_NAME_LENGTH:
        raise ValidationError(
            _l("A name may be at most %(n)s characters.", n=MAX_NAME_LENGTH), field=field
        )
    for char in text:
        if char in _NAME_PUNCTUATION or unicodedata.category(char)[0] in "LM":
            continue
        raise ValidationError(
            _l("A name may contain only letters, spaces, dots, hyphens and apostrophes."),
            field=field,
        )
    return text


def clean_text(raw: str | None, *, max_length: int, field: str) -> str:
    """Free text (an address): NFC, trimmed, control characters refused."""
    text = unicodedata.normalize("NFC", raw or "").strip()
    if len(text) > max_length:
        raise ValidationError(
            _l("At most %(n)s characters are allowed.", n=max_length), field=field
        )
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise ValidationError(_l("The text contains control characters."), field=field)
    return text


def check_age(date_of_birth: date | None, *, today: date, field: str = "date_of_birth") -> date:
    """Members must be 18 or older on ``today`` (DPDP Act s.9: no minors)."""
    if date_of_birth is None:
        raise ValidationError(_l("Enter the date of birth."), field=field)
    if date_of_birth > today:
        raise ValidationError(_l("The date of birth is in the future."), field=field)
    birthday_to_come = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    age = today.year - date_of_birth.year - birthday_to_come
    if age < MIN_AGE:
        raise ValidationError(_l("Members must be at least 18 years old."), field=field)
    if age > MAX_AGE:
        raise ValidationError(_l("Check the date of birth: the age is over 120."), field=field)
    return date_of_birth
