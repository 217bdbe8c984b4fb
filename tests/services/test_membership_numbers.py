import pytest

from backoffice.services.membership_numbers import format_membership_no, parse_membership_no


def test_number_round_trips_and_reads_with_spaces_or_lower_case(ctx):
    number = format_membership_no(123456)
    assert number.startswith("CG00123456") and len(number) == 11
    assert parse_membership_no(number) == 123456
    assert parse_membership_no(f" cg {number[2:6]}-{number[6:]} ") == 123456


def test_every_single_digit_mistake_and_adjacent_swap_is_caught(ctx):
    number = format_membership_no(4021987)
    digits = number[2:]
    for i, digit in enumerate(digits):
        for wrong in "0123456789":
            if wrong != digit:
                typo = digits[:i] + wrong + digits[i + 1:]
                assert parse_membership_no(typo) is None, typo
    for i in range(len(digits) - 1):
        if digits[i] != digits[i + 1]:
            swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2:]
            assert parse_membership_no(swapped) is None, swapped


@pytest.mark.parametrize("text", ["", "CG", "CG12", "hello", "CG٠٠١٢٣٤٥٦٧", "CG0012345678901"])
def test_garbage_is_not_a_membership_number(ctx, text):
    assert parse_membership_no(text) is None
