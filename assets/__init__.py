"""Assets by layer: raw (the Parquet lake), staging (DuckDB), and later marts."""
