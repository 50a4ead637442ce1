"""Seed 002 field rules: clinic name, address, province, postal code, phone, extension, logo."""

from __future__ import annotations

import hashlib
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregates import coordinates
from aggregates.errors import InvalidValue
from aggregates.logo import MAX_BYTES, LogoRefused, LogoTooLarge, judge, media_type

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00\x00\x00\x10" * 2 + b"\x08\x06\x00\x00\x00" + b"\0" * 4
GIF = b"GIF89a" + b"\x10\x00\x10\x00\x80\x00\x00" + b"\0" * 20
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\0" * 20


# -- name -------------------------------------------------------------------------------
def test_name_of_200_characters_is_kept_201_refused() -> None:
    assert coordinates.clinic_name("  " + "é" * 200 + " ") == "é" * 200
    with pytest.raises(InvalidValue) as refused:
        coordinates.clinic_name("x" * 201)
    assert refused.value.details["field"] == "name"
    assert "200" in refused.value.message


@pytest.mark.parametrize("bad", ["", "   ", None, 12, "Clinique\ndu Parc"])
def test_name_must_be_one_line_of_text(bad: object) -> None:
    with pytest.raises(InvalidValue):
        coordinates.clinic_name(bad)


# -- province, postal code ------------------------------------------------------------------
def test_provinces_are_the_thirteen_codes_any_case() -> None:
    assert len(coordinates.PROVINCES) == 13
    assert coordinates.province(" qc ") == "QC"
    for bad in ("PQ", "Québec", "", None, "US"):
        with pytest.raises(InvalidValue) as refused:
            coordinates.province(bad)
        assert refused.value.details["field"] == "address.province"


@pytest.mark.parametrize("raw, canonical", [
    ("G1G 1G1", "G1G 1G1"), ("g1k7p4", "G1K 7P4"), (" H2X-1Y4 ", "H2X 1Y4"), ("X0A 0H0", "X0A 0H0"),
])
def test_postal_codes_are_put_in_canonical_form(raw: str, canonical: str) -> None:
    assert coordinates.postal_code(raw) == canonical


@pytest.mark.parametrize("bad", [
    "", "G1G1G", "G1G 1G1 1", "12345", "90210-1234", "D1G 1G1", "W1G 1G1", "Z1G 1G1",
    "G1O 1G1", "G1G 1U1", "G1G  1G1", "G1G\n1G1", "Ｇ1G 1G1", "G١G 1G1",
])
def test_non_canadian_postal_codes_are_refused(bad: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        coordinates.postal_code(bad)
    assert refused.value.details["field"] == "address.postal_code"


LETTERS = "ABCEGHJKLMNPRSTVWXYZ"
FIRST = "ABCEGHJKLMNPRSTVXY"


@given(st.text(FIRST, min_size=1, max_size=1), st.text(LETTERS, min_size=2, max_size=2),
       st.text(string.digits, min_size=3, max_size=3), st.sampled_from(["", " ", "-"]),
       st.booleans())
def test_every_canada_post_shape_is_accepted(first: str, letters: str, digits: str, sep: str,
                                             lower: bool) -> None:
    raw = f"{first}{digits[0]}{letters[0]}{sep}{digits[1]}{letters[1]}{digits[2]}"
    canonical = raw.replace("-", " ") if sep else raw[:3] + " " + raw[3:]
    assert coordinates.postal_code(raw.lower() if lower else raw) == canonical


# -- address ------------------------------------------------------------------------------
def test_address_with_and_without_suite() -> None:
    full = coordinates.address("350 Boulevard Charest Est", "Québec", "qc", "g1k3h5", " 210 ")
    assert full.as_dict() == {"street": "350 Boulevard Charest Est", "suite": "210",
                              "city": "Québec", "province": "QC", "postal_code": "G1K 3H5"}
    assert coordinates.address("1 rue A", "Lévis", "QC", "G6V 1A1", "  ").suite is None
    assert coordinates.address("1 rue A", "Lévis", "QC", "G6V 1A1").suite is None


@pytest.mark.parametrize("part, args", [
    ("address.street", ("", "Québec", "QC", "G1K 3H5")),
    ("address.city", ("1 rue A", " ", "QC", "G1K 3H5")),
    ("address.street", ("x" * 201, "Québec", "QC", "G1K 3H5")),
    ("address.suite", ("1 rue A", "Québec", "QC", "G1K 3H5", "x" * 21)),
])
def test_address_names_its_wrong_part(part: str, args: tuple[str, ...]) -> None:
    with pytest.raises(InvalidValue) as refused:
        coordinates.address(*args)
    assert refused.value.details["field"] == part


# -- phone, extension -------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [
    "(418) 555-5555", "418-555-5555", "418.555.5555", "4185555555", "+1 418 555 5555",
    "1-418-555-5555", "+14185555555",
])
def test_phone_numbers_become_e164(raw: str) -> None:
    assert coordinates.phone(raw) == "+14185555555"


@pytest.mark.parametrize("bad", [
    "", "555-5555", "(018) 555-5555", "(418) 155-5555", "+33 1 23 45 67 89", "418 555 55555",
    "418-555-5555 poste 12", "٤١٨5555555", None,
])
def test_phone_numbers_without_area_code_or_foreign_are_refused(bad: object) -> None:
    with pytest.raises(InvalidValue) as refused:
        coordinates.phone(bad)
    assert refused.value.details["field"] == "phone"


def test_extension_is_optional_digits() -> None:
    assert coordinates.extension(None) is None
    assert coordinates.extension("  ") is None
    assert coordinates.extension(" 1234 ") == "1234"
    for bad in ("12a", "123456789", "#12", "١٢"):
        with pytest.raises(InvalidValue) as refused:
            coordinates.extension(bad)
        assert refused.value.details["field"] == "extension"


# -- logo -----------------------------------------------------------------------------------
@pytest.mark.parametrize("content, kind", [(PNG, "image/png"), (GIF, "image/gif"),
                                           (JPEG, "image/jpeg")])
def test_logo_type_is_judged_by_its_bytes(content: bytes, kind: str) -> None:
    logo = judge(content)
    assert (logo.media_type, logo.size) == (kind, len(content))
    assert logo.digest == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("content", [
    b"", b"not an image", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.7\n",
    b"BM" + b"\0" * 60, b"RIFF\0\0\0\0WEBPVP8 ", b"\x89PNG\r\n\x1a\n", b"GIF89a",
    b"\xff\xd8", PNG[:8] + b"\0\0\0\rJUNK" + PNG[16:],
])
def test_other_content_is_refused_whatever_it_is_called(content: bytes) -> None:
    assert media_type(content) is None
    with pytest.raises(LogoRefused) as refused:
        judge(content)
    assert refused.value.code == "logo_type_refused"


def test_logo_of_5_mb_is_accepted_one_byte_more_refused() -> None:
    largest = PNG + b"\0" * (MAX_BYTES - len(PNG))
    assert judge(largest).size == MAX_BYTES == 5 * 1024 * 1024
    with pytest.raises(LogoTooLarge) as refused:
        judge(largest + b"\0")
    assert refused.value.code == "logo_too_large"
    assert refused.value.details["size"] == MAX_BYTES + 1


@given(st.binary(max_size=64))
def test_random_bytes_are_an_accepted_type_only_with_a_signature(content: bytes) -> None:
    kind = media_type(content)
    signatures = {"image/png": b"\x89PNG", "image/gif": b"GIF8", "image/jpeg": b"\xff\xd8\xff"}
    assert kind is None or content.startswith(signatures[kind])
