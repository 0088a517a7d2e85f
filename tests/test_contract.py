"""docs/contract.md, the published tables and their comments say the same thing."""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.metadata import column_schema
from productops import contract
from tests.conftest import SampleRun

DOC = Path(__file__).resolve().parents[1] / "docs" / "contract.md"


def test_the_document_is_rendered_from_the_contract_module() -> None:
    assert DOC.read_text() == contract.render(), (
        "docs/contract.md is stale: python -m productops.contract > docs/contract.md"
    )


def test_every_published_table_has_exactly_the_contract_columns_and_types(
    sample_run: SampleRun,
) -> None:
    with duckdb.connect(str(sample_run.paths.serving), read_only=True) as con:
        published = con.execute(
            "SELECT schema_name || '.' || table_name, "
            "list((column_name, data_type, comment) ORDER BY column_index) "
            "FROM duckdb_columns() WHERE database_name = current_database() GROUP BY 1"
        ).fetchall()
        table_comments = dict(
            con.execute(
                "SELECT schema_name || '.' || table_name, comment FROM duckdb_tables() "
                "WHERE database_name = current_database()"
            ).fetchall()
        )
    found = {name: columns for name, columns in published}
    assert sorted(found) == sorted(contract.BY_NAME)
    for name, table in contract.BY_NAME.items():
        expected = [(c.name, c.type, c.description) for c in table.columns]
        actual = [(c[0], c[1], c[2]) for c in found[name]]
        assert actual == expected, name
        assert table.grain in (table_comments[name] or ""), name


def test_the_dagster_ui_gets_the_same_descriptions(sample_run: SampleRun) -> None:
    with duckdb.connect(str(sample_run.paths.warehouse), read_only=True) as con:
        schema = column_schema(con, "marts.nps_daily")
    described = {c.name: c.description for c in schema.columns}
    table = contract.BY_NAME["marts.nps_daily"]
    for column in table.columns:
        if column.name != "_published_at":  # added at publication, not in the warehouse
            assert described[column.name] == column.description
