"""Data quality: expectation suites per staging table, their results, and the trust gate."""
