"""Phone numbers from many countries are found and redacted; other digit runs are not."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat as F

from productops import sql
from productops.pii import has_personal_data, redact_phones

REGIONS = ["US", "GB", "DE", "FR", "NL", "ES", "IT", "IE", "SE", "PL", "IN", "BR", "AU", "CA",
           "MX", "JP"]  # fmt: skip


def _formats(region: str) -> list[str]:
    n = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    return [phonenumbers.format_number(n, f) for f in (F.NATIONAL, F.INTERNATIONAL, F.E164)]


CORPUS = [(r, text) for r in REGIONS for text in _formats(r)] + [
    ("GB", "+44 20 7946 0958"), ("GB", "020 7946 0958"), ("DE", "+49 30 12345678"),
    ("FR", "06 12 34 56 78"),
]  # fmt: skip
NOT_PHONES = ["order 123456789 shipped", "invoice 2026-03-02", "created 1772409600",
              "ticket 70100003", "price 1,299.00 EUR", "version 10.2.3.4567", "ACC-000123"]  # fmt: skip


@pytest.mark.parametrize(("region", "number"), CORPUS)
def test_a_number_in_text_is_redacted(region: str, number: str) -> None:
    text = f"Please call me on {number} tomorrow."
    assert has_personal_data(text)
    redacted = redact_phones(text)
    assert redacted == "Please call me on [phone] tomorrow.", (region, number, redacted)


@pytest.mark.parametrize("text", NOT_PHONES)
def test_other_digit_runs_stay(text: str) -> None:
    assert redact_phones(text) == text and not has_personal_data(text)


def test_the_warehouse_redacts_with_the_same_detector() -> None:
    with sql.connect() as con:
        found = con.execute(
            "SELECT redact(?, 'Ximena Ortega')",
            [
                "Ximena Ortega here: +44 20 7946 0958, 06 12 34 56 78, x@example.com, order 123456789"
            ],
        ).fetchone()[0]
    assert found == "[name] here: [phone], [phone], [email], order 123456789"


def test_the_check_asks_the_same_detector() -> None:
    with sql.connect() as con:
        found = con.execute(
            "SELECT has_personal_data(t) FROM (VALUES ('ring 06 12 34 56 78'), "
            "('order 123456789'), ('a@b.io'), (NULL)) v(t)"
        ).fetchall()
    assert [f for (f,) in found] == [True, False, True, False]
