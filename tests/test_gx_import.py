"""Great Expectations validates without importing what productops never uses from it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from productops.quality import gx
    from productops.quality.suites import between

    frame = pd.DataFrame({"date": ["2026-01-01"] * 3, "id": [1, 2, 3], "score": [0, 7, 11]})
    [result] = gx.validate(frame, "scores", [between("score", 0, 10)], ["date", "id"])
    assert not result.success and result.unexpected_count == 1, result
    assert "scipy.stats" not in sys.modules and "altair" not in sys.modules

    # GX holds stand-ins: used, they load the real module.
    from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
    assert abs(kl.stats.norm.cdf(0.0) - 0.5) < 1e-12
    assert "scipy.stats" in sys.modules
    # Everyone else imports the real modules as usual.
    import altair as alt
    from scipy import stats
    assert type(alt).__name__ == "module" and stats.norm.cdf(0.0) == 0.5
    assert alt.Chart(pd.DataFrame({"x": [1]})).mark_point().to_dict()["mark"]["type"] == "point"
    print("ok")
    """
)


def test_gx_validates_without_scipy_stats_or_altair_and_they_still_work_when_used() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


def test_loading_the_definitions_imports_neither_great_expectations_nor_altair() -> None:
    """Code servers, the daemon and every run load the definitions: the libraries only
    a check step or the report uses are imported there, when used."""
    program = (
        "import sys\nfrom pipelines.definitions import current_definitions\n"
        "assert current_definitions().resolve_asset_graph().get_all_asset_keys()\n"
        "print(sorted(m for m in ('great_expectations', 'altair', 'vl_convert') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_only_what_failed_is_validated_again_for_its_rows() -> None:
    """GX is asked pass or fail first; an expectation that failed gets its count and rows
    from a second call, one that passed has none, and a `mostly` is refused."""
    import pandas as pd
    import pytest

    from productops.quality import gx
    from productops.quality.suites import _not_null as not_null
    from productops.quality.suites import between, in_set

    frame = pd.DataFrame(
        {"date": ["2026-01-01"] * 4, "id": [1, 2, 3, 4], "score": [0, 7, 11, 12],
         "plan": ["a", "b", "a", "c"]}
    )  # fmt: skip
    expectations = [between("score", 0, 10), not_null("id"), in_set("plan", ("a", "b"))]
    score, ids, plan = gx.validate(frame, "mixed", expectations, ["date", "id"])
    assert (score.success, score.unexpected_count, score.element_count) == (False, 2, 4)
    assert sorted(r["id"] for r in score.unexpected_rows) == [3, 4]
    assert (ids.success, ids.unexpected_count, ids.unexpected_rows) == (True, 0, [])
    assert (plan.success, [r["id"] for r in plan.unexpected_rows]) == (False, [4])
    mostly = gx.Expectation(
        "values_valid", lambda e: e.ExpectColumnValuesToNotBeNull(column="id", mostly=0.9), "id"
    )
    with pytest.raises(ValueError, match="mostly"):
        gx.validate(frame, "mostly", [mostly], ["date", "id"])
