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
              "ticket 70100003", "price 1,299.00 EUR", "version 10.2.3.4567", "ACC-000123",
              "since 2026-02-30 25:61", "on 2026-03-02 10:00", "due 02/03/2026 or 2.3.2026"]  # fmt: skip


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


def test_people_the_system_knows_are_redacted_wherever_they_are_named(paths) -> None:
    from datetime import date

    from productops.ingest import ingest_source
    from productops.sources import SOURCES
    from productops.staging import build_staging
    from tests.helpers import warehouse, write_jsonl, write_landing

    okta = {"uuid": "e1", "published": "2026-03-02T09:00:00Z", "eventType": "user.authentication.sso",
            "actor": {"alternateId": "xo@corp.com", "displayName": "Ximena Ortega"},
            "outcome": {"result": "SUCCESS"},
            "target": [{"type": "AppInstance", "displayName": "Figma"}]}  # fmt: skip
    write_jsonl(paths, "tool_usage", "okta.jsonl", [okta])
    write_landing(
        paths,
        "licences",
        "inv.csv",
        "tool,seats,annual_cost,currency,owner\nFigma,10,1000,USD,Dana Whitfield\n",
    )
    comment = "My colleague Ximena Ortega loves it; ask dana whitfield about seats. Will do!"
    write_jsonl(paths, "nps", "nps.jsonl", [{"id": "1", "score": 9, "created_at": 1772442000,
                                             "comment": comment, "person": {"name": "Bo Li"}}])  # fmt: skip
    for source in ("tool_usage", "licences", "nps"):
        ingest_source(paths, SOURCES[source])
    con = warehouse(paths)
    build_staging(con, paths, SOURCES["nps"], date(2026, 3, 2), date(2026, 3, 2))
    (staged,) = con.execute("SELECT comment FROM staging.nps_responses").fetchone()
    assert staged == "My colleague [name] loves it; ask [name] about seats. Will do!"
    assert len(list(paths.people.glob("*/*.parquet"))) == 3
