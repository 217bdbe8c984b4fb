from datetime import date

import pytest

from backoffice.services.errors import ValidationError
from backoffice.services.validation import (
    check_age,
    clean_name,
    normalise_epic,
    normalise_mobile,
)


@pytest.mark.parametrize(
    "raw",
    ["9876543210", "09876543210", "+91 98765 43210", "0091 9876543210", "919876543210",
     " +91-98765-43210 "],
)
def test_indian_mobiles_in_any_usual_format_normalise_to_e164(raw):
    assert normalise_mobile(raw) == "+919876543210"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "Enter a mobile number"),
        ("   ", "Enter a mobile number"),
        ("98765", "not a valid"),
        ("98765432101234", "not a valid"),
        ("+1 202 555 0143", "Only Indian"),
        ("+44 7700 900123", "Only Indian"),
        ("6123456789", "not a mobile"),  # a fixed line, though it starts with 6
        ("1800 180 1551", "not a mobile"),  # toll-free
        ("011 2345 6789", "not a mobile"),  # Delhi landline
        ("९८७६५४३२१०", "only the digits"),  # Devanagari digits
        ("９８７６５４３２１０", "only the digits"),  # full-width digits
        ("9876543210; DROP", "only the digits"),
        ("9" * 5000, "only the digits"),
    ],
)
def test_bad_mobiles_are_refused_with_a_reason(raw, reason):
    with pytest.raises(ValidationError) as error:
        normalise_mobile(raw)
    assert reason in str(error.value.message)
    assert error.value.field == "mobile"


def test_epic_is_three_letters_and_seven_digits_any_case_and_spacing():
    assert normalise_epic(" abc 1234567 ") == "ABC1234567"
    assert normalise_epic("") is None
    for bad in ["AB12345678", "ABC123456", "ABCD123456", "ABC12345٦7", "१२३ABC4567"]:
        with pytest.raises(ValidationError):
            normalise_epic(bad)
    with pytest.raises(ValidationError, match="Enter the voter ID"):
        normalise_epic("", required=True)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  सुनीता   साहू ", "सुनीता साहू"),
        ("Ramesh Kumar", "Ramesh Kumar"),
        ("प्रियंका O'Brien-शर्मा", "प्रियंका O'Brien-शर्मा"),
        ("क्षितिज त्रिपाठी", "क्षितिज त्रिपाठी"),
        ("Dr. A. K. Singh", "Dr. A. K. Singh"),
        ("जौहर डी’कोस्टा", "जौहर डी'कोस्टा"),  # a phone keyboard's curly apostrophe
        ("अनन्\u200dत", "अनन्\u200dत"),  # a zero-width joiner keeps the halant visible
    ],
)
def test_names_in_devanagari_and_latin_are_welcome(raw, clean):
    assert clean_name(raw) == clean


def test_names_are_nfc_so_the_same_name_typed_two_ways_matches():
    decomposed = "क़मर"  # क + nukta, as some keyboards type it
    composed = "क़मर"  # precomposed QA
    assert clean_name(decomposed) == clean_name(composed)


@pytest.mark.parametrize("raw", ["", "   ", "Ram123", "<script>", "राम\u0000", "x" * 151])
def test_bad_names_are_refused(raw):
    with pytest.raises(ValidationError):
        clean_name(raw)


def test_age_must_be_18_on_the_day():
    today = date(2026, 11, 27)
    assert check_age(date(2008, 11, 27), today=today) == date(2008, 11, 27)
    with pytest.raises(ValidationError, match="at least 18"):
        check_age(date(2008, 11, 28), today=today)
    with pytest.raises(ValidationError, match="future"):
        check_age(date(2027, 1, 1), today=today)
    with pytest.raises(ValidationError, match="over 120"):
        check_age(date(1900, 1, 1), today=today)
    with pytest.raises(ValidationError, match="Enter the date"):
        check_age(None, today=today)
