"""Masking of personal data for people who need counts, not contacts."""

from __future__ import annotations

MASK = "•"


def mask_phone(e164: str | None) -> str:
    """+919876543210 -> +91 ••••••••10: enough to tell two numbers apart."""
    if not e164:
        return ""
    return f"{e164[:3]} {MASK * (len(e164) - 5)}{e164[-2:]}"


def mask_epic(epic: str | None) -> str:
    """ABC1234567 -> AB••••••67."""
    if not epic:
        return ""
    return f"{epic[:2]}{MASK * (len(epic) - 4)}{epic[-2:]}"
