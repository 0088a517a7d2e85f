"""Great Expectations 1.x, called directly on a window's rows (the pandas path).

GX is imported on first use only: importing it costs three seconds (pandas, its whole
data context), which every load of the code location would otherwise pay; it cost
nearly five before `_deferred` kept scipy.stats and altair out of it. Importing it in a
background thread while staging runs was tried and gained nothing on two cores: the
import holds the GIL. A whole suite is validated in one call (several times faster
than one expectation per call), with GX's batch fingerprinting and progress bars
turned off. GX's SQL path does not work on DuckDB (GX issues 10738 and
11579), so whole-table checks are SQL in DuckDB instead (see `checks.py`).
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_lock = threading.Lock()
_context: Any = None

# Imported by GX at import time for expectations productops does not use (KL divergence,
# KS tests) and their charts: 1.8 s of every validating process, measured.
NOT_NEEDED_BY_GX = ("scipy.stats", "altair")


class _Deferred(types.ModuleType):
    """A stand-in for a module: the real one is imported on first attribute access."""

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)  # the import system asks for dunders; not a use
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


@contextmanager
def _deferred(names: tuple[str, ...]) -> Iterator[None]:
    """Modules imported while this is open get stand-ins for `names` (GX keeps them; a
    use loads the real module); afterwards they import normally for everyone else.

    Written by hand: GX has no setting for it, and importlib's `LazyLoader` does not
    help here, because Python 3.11's import system reads a lazy module's `__spec__` on
    every `from scipy import stats`, which loads it.
    """
    placed = [n for n in names if n not in sys.modules]
    for name in placed:
        sys.modules[name] = _Deferred(name)
    try:
        yield
    finally:
        for name in placed:
            if isinstance(sys.modules.get(name), _Deferred):
                del sys.modules[name]


def _gx() -> Any:
    """The GX module and an ephemeral context, set up once per process."""
    global _context
    with _lock:
        with _deferred(NOT_NEEDED_BY_GX):
            import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        if _context is None:
            # Fingerprinting each batch costs seconds on millions of rows and buys us nothing.
            pandas_execution_engine.HASH_THRESHOLD = 0
            _context = gx.get_context(mode="ephemeral")
            _context.variables.progress_bars = ProgressBarsConfig(
                globally=False, metric_calculations=False
            )
        return gx


@dataclass(frozen=True)
class Expectation:
    """One GX expectation, built lazily, in a named family (the Dagster check it feeds)."""

    family: str
    build: Callable[[Any], Any]  # gx.expectations module -> Expectation instance
    what: str  # for people: "score between 0 and 10"
    column: str | None = None  # the column it reads, fetched for the validation


@dataclass
class ExpectationResult:
    family: str
    what: str
    success: bool
    element_count: int
    unexpected_count: int
    unexpected_rows: list[dict[str, Any]]  # the id columns (and value) of unexpected rows
    observed: Any = None


def validate(
    frame: pd.DataFrame, suite_name: str, expectations: list[Expectation], id_columns: list[str]
) -> list[ExpectationResult]:
    """Validate `frame` against every expectation in one GX call (a second one for the
    expectations that failed, for their details)."""
    gx = _gx()
    context = _context
    with _lock:
        # One data source, asset and batch definition for every suite: GX registers each
        # in milliseconds (about 20 for the three, profiled), and a batch is made per
        # call from its own frame.
        name = "ds_productops"
        try:
            source = context.data_sources.get(name)
        except Exception:
            source = context.data_sources.add_pandas(name)
        try:
            asset = source.get_asset("frame")
        except Exception:
            asset = source.add_dataframe_asset("frame")
        try:
            batch_def = asset.get_batch_definition("whole")
        except Exception:
            batch_def = asset.add_batch_definition_whole_dataframe("whole")
    batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
    # Nearly every run passes: GX answers pass or fail alone in half the time (0.16 s ->
    # 0.08 s for the five staging suites of a day), and only the expectations that
    # failed are validated again for their counts and unexpected rows. No expectation
    # here has a `mostly`, so one that passed had no unexpected row.
    passed = [res.success for res in _run(gx, batch, suite_name, expectations, "BOOLEAN_ONLY")]
    failed = [spec for spec, ok in zip(expectations, passed, strict=True) if not ok]
    complete = {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": id_columns,
        "return_unexpected_index_query": False,
    }
    details = iter(_run(gx, batch, suite_name, failed, complete) if failed else [])
    out = []
    for spec, ok in zip(expectations, passed, strict=True):
        r = {} if ok else (next(details).result or {})
        out.append(
            ExpectationResult(
                family=spec.family,
                what=spec.what,
                success=bool(ok),
                element_count=int(r.get("element_count") or len(frame)),
                unexpected_count=int(r.get("unexpected_count") or 0),
                unexpected_rows=list(r.get("unexpected_index_list") or []),
                observed=r.get("observed_value"),
            )
        )
    return out


def _run(
    gx: Any, batch: Any, suite_name: str, expectations: list[Expectation], result_format: Any
) -> list[Any]:
    """GX's results for these expectations on `batch`, in their order."""
    suite = gx.ExpectationSuite(name=suite_name)
    for spec in expectations:
        built = spec.build(gx.expectations)
        if getattr(built, "mostly", 1) != 1:  # then passing would not mean no unexpected row
            raise ValueError(f"{suite_name}: {spec.what}: `mostly` is not supported here")
        suite.add_expectation(built)
    return list(batch.validate(suite, result_format=result_format).results)
