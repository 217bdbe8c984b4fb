"""Human-friendly membership numbers: prefix + 8-digit id + Verhoeff check digit.

The number is derived from the member's id, so it needs no storage and no
allocation. Verhoeff (as Aadhaar uses) catches every single-digit error and
every swap of adjacent digits, the usual mistakes when a number is read out
over the phone or copied from paper.
"""

from __future__ import annotations

import re

from flask import current_app
from stdnum import verhoeff
from stdnum.exceptions import ValidationError as StdnumError

_DIGITS = 8


def format_membership_no(member_id: int) -> str:
    body = f"{member_id:0{_DIGITS}d}"
    return f"{current_app.config['MEMBERSHIP_PREFIX']}{body}{verhoeff.calc_check_digit(body)}"


def parse_membership_no(text: str) -> int | None:
    """The member id a typed membership number stands for, or None if mistyped."""
    prefix = current_app.config["MEMBERSHIP_PREFIX"]
    compact = re.sub(r"[\s-]+", "", text or "").upper()
    if compact.startswith(prefix):
        compact = compact[len(prefix):]
    if not compact.isascii() or not compact.isdigit() or len(compact) != _DIGITS + 1:
        return None
    try:
        verhoeff.validate(compact)
    except StdnumError:
        return None
    return int(compact[:-1])


def parse_typed_membership_no(text: str) -> int | None:
    """A membership number as a member types it: with or without the prefix, spaces,
    dashes or its leading zeros (``CG000123454``, ``123454``), but always with its
    check digit, so that a typo finds nobody rather than someone else."""
    prefix = current_app.config["MEMBERSHIP_PREFIX"]
    compact = re.sub(r"[\s\-/.]+", "", text or "").upper()
    if compact.startswith(prefix):
        compact = compact[len(prefix):]
    if not compact.isascii() or not compact.isdigit() or not 2 <= len(compact) <= _DIGITS + 1:
        return None
    return parse_membership_no(compact.zfill(_DIGITS + 1)) or None
