"""Serving: the contract's tables published to `data/serving.duckdb` for BI tools."""

from datetime import UTC, datetime

import dagster as dg

from assets.marts import MARTS_CODE_VERSION, TAXONOMY_VERSION, mart_key
from assets.raw import OWNERS
from assets.staging import WAREHOUSE_POOL
from productops.marts import CONTRACT_TABLES
from productops.serving import STORAGE_VERSION, publish
from resources import DuckDBWarehouse


@dg.asset(
    key=dg.AssetKey(["serving", "publication"]),
    deps=[mart_key(t) for t in CONTRACT_TABLES],
    description=(
        "The serving database BI tools read (data/serving.duckdb): every contract table, "
        "published all at once by building a new file and renaming it into place, plus "
        "meta.publications. Source: the marts. Grain: one file per publication."
    ),
    group_name="serving",
    owners=OWNERS,
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
)
def publication(
    context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        pub = publish(
            con,
            warehouse.paths.serving,
            run_id=context.run.run_id,
            published_at=datetime.now(UTC),
            versions={"code": MARTS_CODE_VERSION, "taxonomy": TAXONOMY_VERSION},
        )
    context.log.info(f"Published {sum(pub.row_counts.values())} rows to {pub.path}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(pub.row_counts.values()),
            "publication_id": pub.publication_id,
            "path": dg.MetadataValue.path(str(pub.path)),
            "storage_version": STORAGE_VERSION,
            "row_counts": dg.MetadataValue.json(pub.row_counts),
        }
    )


SERVING_ASSETS = [publication]
