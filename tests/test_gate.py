"""A table's rules folded into one Dagster check per severity, without losing a rule."""

from datetime import date

from productops.quality.gate import GATE, WARNINGS, gates
from productops.quality.results import CheckOutcome, DayOutcome

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def _rule(name: str, severity: str, failing: dict[date, str]) -> CheckOutcome:
    days = [
        DayOutcome(d, d not in failing, observed=1.0 if d in failing else 0.0,
                   unexpected_count=3 if d in failing else 0,
                   examples=[{"key": f"{name}-{d}"}] if d in failing else [],
                   detail=failing.get(d, ""))
        for d in (D1, D2)
    ]  # fmt: skip
    return CheckOutcome(name, severity, "0", days)


def _table() -> dict[str, CheckOutcome]:
    return {
        "keys_valid": _rule("keys_valid", "ERROR", {}),
        "quarantine_rate": _rule("quarantine_rate", "ERROR", {D2: "score_out_of_range 20"}),
        "volume_normal": _rule("volume_normal", "WARN", {D1: "159 rows"}),
    }


def test_rules_are_grouped_by_severity_and_the_gate_fails_with_any_error_rule() -> None:
    found = gates("staging.nps", _table())
    assert [r.name for r in found[GATE].rules] == ["keys_valid", "quarantine_rate"]
    assert [r.name for r in found[WARNINGS].rules] == ["volume_normal"]
    assert not found[GATE].passed and not found[WARNINGS].passed
    assert found[GATE].describe().startswith("staging.nps quarantine_rate: FAILED on 1 of 2 day(s)")


def test_each_day_names_only_the_rules_that_failed_on_it() -> None:
    verdicts = {v.day: v for v in gates("staging.nps", _table())[GATE].days()}
    assert verdicts[D1].passed and "2 rule(s) passed" in verdicts[D1].description
    assert [r.name for r in verdicts[D2].failed] == ["quarantine_rate"]
    assert "quarantine_rate: FAILED — score_out_of_range 20" in verdicts[D2].description
    assert verdicts[D2].unexpected_count == 3
    assert verdicts[D2].examples == [{"rule": "quarantine_rate", "key": f"quarantine_rate-{D2}"}]


def test_the_metadata_keeps_every_rules_outcome() -> None:
    meta = gates("staging.nps", _table())[GATE].metadata()
    assert meta["rules"]["keys_valid"]["passed"] is True
    assert meta["rules"]["quarantine_rate"]["failed_days"] == [D2.isoformat()]
    assert meta["failed_rules"] == ["quarantine_rate"] and meta["failed_days"] == [D2.isoformat()]
    assert meta["days_checked"] == 2 and meta["unexpected_count"] == 3
    assert [e["rule"] for e in meta["examples"]] == ["quarantine_rate"]


def test_a_table_without_warn_rules_has_no_warnings_check() -> None:
    only_errors = {k: v for k, v in _table().items() if v.severity == "ERROR"}
    assert set(gates("staging.nps", only_errors)) == {GATE}
    passing = gates("staging.nps", {"keys_valid": _table()["keys_valid"]})[GATE]
    assert passing.passed and passing.describe().endswith("passed on 2 day(s) (keys_valid)")
