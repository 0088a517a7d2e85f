"""Which contract tables a run refreshed, when other runs materialize the same tables at once."""

from __future__ import annotations

import dagster as dg

from assets.marts import mart_key
from assets.serving import _refreshed_in_run
from productops.marts import CONTRACT_TABLES


def _stand_ins(tables: list[str]) -> list[dg.AssetsDefinition]:
    def one(table: str) -> dg.AssetsDefinition:
        @dg.asset(key=mart_key(table))
        def _table() -> None:
            return None

        return _table

    return [one(t) for t in tables]


def test_a_table_another_run_materialized_since_still_counts_for_this_run() -> None:
    with dg.instance_for_test() as instance:
        first = dg.materialize(_stand_ins(list(CONTRACT_TABLES)), instance=instance)
        # A second worker materializes half the tables after the first run did.
        half = list(CONTRACT_TABLES)[: len(CONTRACT_TABLES) // 2]
        second = dg.materialize(_stand_ins(half), instance=instance)

        assert _refreshed_in_run(instance, first.run_id) == set(CONTRACT_TABLES)
        assert _refreshed_in_run(instance, second.run_id) == set(half)


def test_a_run_that_materialized_no_contract_table_refreshed_none() -> None:
    @dg.asset
    def other() -> None:
        return None

    with dg.instance_for_test() as instance:
        dg.materialize(_stand_ins(list(CONTRACT_TABLES)), instance=instance)
        held_back = dg.materialize([other], instance=instance)
        assert _refreshed_in_run(instance, held_back.run_id) == set()
