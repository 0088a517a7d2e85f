"""Phone numbers from many countries are found and redacted; other digit runs are not."""

from __future__ import annotations

import itertools
import shutil
from datetime import date, timedelta

import dagster as dg
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat as F

from pipelines.runner import materialise
from productops import pii, sql
from productops.ingest import ingest_source
from productops.pii import has_personal_data, redact_phones
from productops.sample import write_sample
from productops.sources import SOURCES
from productops.staging import build_staging
from tests.helpers import stage, warehouse, write_jsonl, write_landing

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


def _sign_in(uuid: str, name: str, day: str) -> dict:
    """An Okta System Log SSO event by the employee `name`."""
    return {"uuid": uuid, "published": f"{day}T09:00:00Z", "eventType": "user.authentication.sso",
            "actor": {"alternateId": f"{uuid}@corp.example", "displayName": name},
            "outcome": {"result": "SUCCESS"},
            "target": [{"type": "AppInstance", "displayName": "Figma"}]}  # fmt: skip


def test_people_the_system_knows_are_redacted_wherever_they_are_named(paths) -> None:
    write_jsonl(paths, "tool_usage", "okta.jsonl", [_sign_in("e1", "Ximena Ortega", "2026-03-02")])
    write_landing(
        paths,
        "licences",
        "inv.csv",
        "tool,seats,annual_cost,currency,owner\nFigma,10,1000,USD,Dana Whitfield\n"
        "Notion,5,100,USD,Product Ops\n",
    )
    comment = "My colleague Ximena Ortega loves it; ask dana whitfield or Product Ops. Will do!"
    write_jsonl(paths, "nps", "nps.jsonl", [{"id": "1", "score": 9, "created_at": 1772442000,
                                             "comment": comment, "person": {"name": "Bo Li"}}])  # fmt: skip
    for source in ("tool_usage", "licences", "nps"):
        ingest_source(paths, SOURCES[source])
    con = warehouse(paths)
    build_staging(con, paths, SOURCES["nps"], date(2026, 3, 2), date(2026, 3, 2))
    (staged,) = con.execute("SELECT comment FROM staging.nps_responses").fetchone()
    # A team that owns a licence is not a person: its name stays readable.
    assert staged == "My colleague [name] loves it; ask [name] or Product Ops. Will do!"
    assert len(list(paths.people.glob("*/*.parquet"))) == 3


def test_a_lake_written_before_name_lists_gets_them_from_its_raw_files(paths) -> None:
    """Lakes from before this version have no `_people` files: staging writes them."""
    write_jsonl(paths, "tool_usage", "okta.jsonl", [_sign_in("e1", "Ximena Ortega", "2026-03-02")])
    write_jsonl(paths, "nps", "nps.jsonl", [{"id": "1", "score": 9, "created_at": 1772442000,
                                             "comment": "Ximena Ortega rocks"}])  # fmt: skip
    for source in ("tool_usage", "nps"):
        ingest_source(paths, SOURCES[source])
    shutil.rmtree(paths.people)
    con = stage(paths, "nps", date(2026, 3, 2), date(2026, 3, 2))
    assert con.execute("SELECT comment FROM staging.nps_responses").fetchone() == ("[name] rocks",)
    assert len(list(paths.people.glob("*/*.parquet"))) == 2


def test_a_local_number_is_read_in_the_country_the_record_gives() -> None:
    """`22 22 55 55` is an Oslo number, valid in none of the default regions: only the
    person's own (Norwegian) phone number tells the detector where to look."""
    text = "ring me on 22 22 55 55 please"
    with sql.connect() as con:
        found = con.execute(
            "SELECT redact(?, NULL), redact(?, NULL, region := phone_region('+4791234567')),"
            " has_personal_data(?), has_personal_data(?, region := phone_region('no')),"
            " phone_region('not a number'), phone_region('ZZ')",
            [text] * 4,
        ).fetchone()
    assert found == (text, "ring me on [phone] please", False, True, None, None)


def test_the_check_finds_a_known_name_that_redaction_did_not_replace(paths) -> None:
    with sql.connect() as con:
        sql.use_known_names(con, ["Ximena Ortega"])
        found = con.execute(
            "SELECT has_personal_data(t) FROM (VALUES ('thanks ximena ortega!'), "
            "('thanks [name]!'), ('Ximena alone'), ('Ortega Street')) v(t)"
        ).fetchall()
    assert [f for (f,) in found] == [True, False, False, False]


def test_an_nps_comment_is_redacted_with_the_persons_country(paths) -> None:
    person = {"name": "Kari Nordmann", "phone_number": "+4791234567"}
    write_jsonl(paths, "nps", "no.jsonl", [
        {"id": "1", "score": 3, "created_at": 1772442000, "person": person,
         "comment": "Kari Nordmann: call the office on 22 22 55 55"},
    ])  # fmt: skip
    con = stage(paths, "nps", date(2026, 3, 2), date(2026, 3, 2))
    assert con.execute("SELECT comment, phone_region FROM staging.nps_responses").fetchone() == (
        "[name]: call the office on [phone]",
        "NO",
    )


@pytest.mark.slow
def test_a_colleague_named_only_by_okta_is_out_of_every_published_text(paths) -> None:
    """One run: the name arrives in the same run's Okta export as the Hacker News story
    and the support ticket that mention her. Staging waits for every source's names, so
    nothing is published and the no_personal_data check passes."""
    end = date(2026, 4, 30)
    write_sample(paths, seed=77, scale=0.05, days=14, end=end)
    day = 1777464000  # 2026-04-29 12:00 UTC
    write_jsonl(
        paths, "tool_usage", "okta-extra.jsonl", [_sign_in("x1", "Zoltana Quibble", "2026-04-29")]
    )
    write_jsonl(paths, "social", "hn-extra.jsonl", [
        {"objectID": "990001", "created_at_i": day, "author": "someone", "points": 3,
         "title": "Zoltana Quibble on why product ops matters", "_tags": ["story"]},
    ])  # fmt: skip
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = materialise(end - timedelta(days=2), end, instance=instance)
    assert outcome.success and not outcome.failed_checks, (outcome.errors, outcome.failed_checks)
    with sql.connect(paths.serving, read_only=True) as con:
        assert not _text_containing(con, "quibble")
    with sql.connect(paths.warehouse, read_only=True) as con:
        assert not _text_containing(con, "quibble", schemas=("staging", "marts", "quarantine"))
        (title,) = con.execute(
            "SELECT title FROM staging.social_mentions WHERE mention_id = '990001'"
        ).fetchone()
    assert title == "[name] on why product ops matters"


def _text_containing(con, needle: str, schemas: tuple[str, ...] = ("marts",)) -> list[str]:
    """Every `schema.table.column` of text type with a value containing `needle`."""
    columns = con.execute(
        "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() AND data_type = 'VARCHAR' "
        "AND list_contains(?, schema_name)",
        [list(schemas)],
    ).fetchall()
    return [
        f"{s}.{t}.{c}"
        for s, t, c in columns
        if con.execute(
            f'SELECT count(*) FROM {s}."{t}" WHERE contains(lower("{c}"), ?)', [needle]
        ).fetchone()[0]
    ]


NAMES = ["Rosa Petrov", "Jean-Luc Picard", "Mary Ann O'Neil", "Will Smith", "Zoë Ångström",
         "May Lee", "Ana de la Cruz"]  # fmt: skip


def _walk(names: list[str], text: str) -> str:
    """The redactor's word-by-word walk alone, without its first look: the oracle."""
    word = pii._WORD
    known = {tuple(w.lower() for w in word.findall(n)) for n in names}
    known = {k for k in known if len(k) >= 2 and all(len(w) >= 2 for w in k)}
    words, out, last, i = list(word.finditer(text)), [], 0, 0
    while i < len(words):
        for n in sorted({len(k) for k in known}, reverse=True):
            run = words[i : i + n]
            if len(run) < n or not all(
                text[a.end() : b.start()].isspace() for a, b in itertools.pairwise(run)
            ):
                continue
            lowered = tuple(w.group().lower() for w in run)
            stem = (*lowered[:-1], lowered[-1][:-2])
            if lowered in known or (lowered[-1].endswith(("'s", "\u2019s")) and stem in known):
                out += [text[last : run[0].start()], "[name]"]
                last, i = run[-1].end() - (0 if lowered in known else 2), i + n
                break
        else:
            i += 1
    return "".join(out) + text[last:]


def test_a_known_full_name_is_redacted_in_any_case_and_a_first_name_alone_is_not() -> None:
    redact = pii.name_redactor(NAMES)
    assert redact("Thanks ROSA PETROV, and Rosa.") == "Thanks [name], and Rosa."
    assert redact("will smith's report: May I?") == "[name]'s report: May I?"
    assert redact("Rosa Petrov\u2019s ticket, Rosa Petrovs") == "[name]\u2019s ticket, Rosa Petrovs"
    assert redact("Mary Ann O'Neil and mary ann") == "[name] and mary ann"
    assert redact("Rosa-Petrov, Rosa\nPetrov") == "Rosa-Petrov, [name]"
    assert redact("zoë ångström") == "[name]" and redact(None) is None
    assert pii.name_redactor([])("Rosa Petrov") == "Rosa Petrov"


_WORDS = [w for n in NAMES for w in n.split()] + ["will", "MAY", "the", "İstanbul", "ﬁle"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=3)), max_size=12),
       st.lists(st.sampled_from([" ", "  ", "\n", "-", "'", ", ", ""]), min_size=12, max_size=12))  # fmt: skip
def test_the_first_look_never_skips_a_text_the_walk_would_change(
    words: list[str], gaps: list[str]
) -> None:
    text = "".join(w + g for w, g in zip(words, gaps, strict=False))
    assert pii.name_redactor(NAMES)(text) == _walk(NAMES, text)
