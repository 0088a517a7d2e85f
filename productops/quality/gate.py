"""A table's rules folded into one gate per severity: what Dagster is told, per day.

Each rule of a suite keeps its own outcome in `quality.check_results` (what data_trust
and `productops accept` read). Dagster gets one check per table and severity instead:
a check evaluation is the costliest event Dagster stores (about 14 ms in its stock SQLite
storage, measured), and a backfill logs one per check per day, so nine checks per table
made check bookkeeping half of a 90-day run. The gate's metadata carries every rule's
outcome, so nothing the UI showed is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from productops.quality.results import MAX_EXAMPLES, CheckOutcome

GATE = "quality_gate"  # the ERROR rules: a failure holds the metric marts back
WARNINGS = "quality_warnings"  # the WARN rules: a failure informs
GATE_SEVERITY = {GATE: "ERROR", WARNINGS: "WARN"}


def day_label(day: date | None) -> str:
    """A day as metadata names it ("all" for a table without days)."""
    return day.isoformat() if day else "all"


@dataclass(frozen=True)
class DayVerdict:
    day: date | None
    failed: list[CheckOutcome]  # the rules that failed on this day
    unexpected_count: int
    description: str
    examples: list[dict[str, Any]]

    @property
    def passed(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Gate:
    name: str
    table: str  # "staging.nps_responses", as descriptions name it
    rules: list[CheckOutcome]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rules)

    @property
    def failed(self) -> list[CheckOutcome]:
        return [r for r in self.rules if not r.passed]

    @property
    def days_checked(self) -> int:
        return len(self.rules[0].days) if self.rules else 0

    def days(self) -> list[DayVerdict]:
        """One verdict per day of the window, naming the rules that failed on it."""
        by_day: dict[date | None, list[tuple[CheckOutcome, Any]]] = {}
        for rule in self.rules:
            for outcome in rule.days:
                by_day.setdefault(outcome.day, []).append((rule, outcome))
        verdicts = []
        for day, pairs in by_day.items():
            failed = [(r, o) for r, o in pairs if not o.passed]
            on = day.isoformat() if day else "the whole table"
            if failed:
                reasons = "; ".join(
                    f"{r.name}: FAILED" + (f" — {o.detail}" if o.detail else "") for r, o in failed
                )
                text = f"{self.table} {self.name} on {on}: {reasons}"
            else:
                text = f"{self.table} {self.name}: {len(pairs)} rule(s) passed on {on}"
            examples = [{"rule": r.name, **e} for r, o in failed for e in o.examples]
            verdicts.append(
                DayVerdict(
                    day=day,
                    failed=[r for r, _ in failed],
                    unexpected_count=sum(o.unexpected_count for _, o in failed),
                    description=text,
                    examples=examples[:MAX_EXAMPLES],
                )
            )
        return verdicts

    def describe(self) -> str:
        """One line per failed rule (its observed value, threshold and days), or a summary."""
        if self.passed:
            names = ", ".join(r.name for r in self.rules)
            return (
                f"{self.table} {self.name}: {len(self.rules)} rule(s) passed on "
                f"{self.days_checked} day(s) ({names})"
            )
        return "\n".join(r.describe(f"{self.table} {r.name}") for r in self.failed)

    def metadata(self) -> dict[str, Any]:
        """Every rule's outcome, and examples from the rules that failed (or all)."""
        rules = {
            r.name: {
                "passed": r.passed,
                "threshold": r.threshold,
                "observed": r.worst.observed if r.worst else None,
                "unexpected_count": r.unexpected_count,
                "failed_days": [day_label(d.day) for d in r.failed_days][:31],
            }
            for r in self.rules
        }
        failed_days = sorted({day_label(d.day) for r in self.failed for d in r.failed_days})
        examples = [
            {"rule": r.name, **example}
            for r in (self.failed or self.rules)
            for example in r.examples
        ][:MAX_EXAMPLES]
        return {
            "rules": rules,
            "failed_rules": [r.name for r in self.failed],
            "unexpected_count": sum(r.unexpected_count for r in self.rules),
            "days_checked": self.days_checked,
            "failed_days": failed_days[:31],
            "examples": examples,
        }


def gates(table: str, outcomes: dict[str, CheckOutcome]) -> dict[str, Gate]:
    """The table's rules grouped into its gates (a gate with no rule is left out)."""
    out = {}
    for name, severity in GATE_SEVERITY.items():
        rules = [o for o in outcomes.values() if o.severity == severity]
        if rules:
            out[name] = Gate(name, table, rules)
    return out
