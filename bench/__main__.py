"""`make bench`: the pipeline against the floor, on this machine, in one run.

1. A benchmark company at `--scale` (10) over `--days` (90), written by `productops
   sample`; its peak memory is measured too, and again over a quarter of the days, to
   show it does not grow with the window.
2. The **floor** (`bench.floor`): DuckDB loads the same landing files into typed tables
   and checkpoints, then VADER scores every distinct text on both cores.
3. The **full backfill** of that company (`productops run`, one run for every day),
   profiled (`bench.profile_run`): time per layer (ingest, staging, validation,
   sentiment, marts, publish) and Dagster's bookkeeping (everything before the first
   step, and every event write).
4. The **daily run** (the last day, a fresh process, as the schedule runs it) at 90 and
   at 365 days of history, on companies at `--daily-scale` (1), each backfilled first.

Floor, backfill and daily runs are repeated `--repeat` times (3) and reported as
medians; ratios are taken within this run only. Prints a table and writes
`bench/results/<date>.json` and `bench/results/<date>.md` (linked from the README).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
END = date(2026, 6, 30)
GIB = 1024**3
TARGETS = {  # on the 2-core machine
    "backfill_over_floor": 2.0,
    "bookkeeping_share": 0.25,  # of the backfill, and of the daily run (daily_bookkeeping_share)
    "daily_bookkeeping_share": 0.25,
    "peak_rss_gib": 3.0,
    "daily_365_over_90": 1.2,
    "validation_share": 0.25,
}
LAYERS = ("ingest", "staging", "validation", "sentiment", "marts", "publish", "bookkeeping")
console = Console()


@dataclass
class Measured:
    wall_s: float
    peak_rss_gib: float
    output: str


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (VADER's workers included)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for p in tree:
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * os.sysconf(
                "SC_PAGE_SIZE"
            )
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure(cmd: list[str], env: dict[str, str]) -> Measured:
    """Wall time and peak resident memory of a command and its children; raises if it fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    peak = [0]
    done = threading.Event()

    def sample() -> None:  # memory is sampled; time is not affected by it
        while not done.wait(0.2):
            peak[0] = max(peak[0], _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{output[-3000:]}")
    return Measured(wall, max(peak[0], usage.ru_maxrss * 1024) / GIB, output)


def productops(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def profiled(profile: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bench.profile_run", str(profile), *args]


class Company:
    """One benchmark company: its data folder, Dagster home and window."""

    def __init__(self, work: Path, name: str, scale: float, days: int, seed: int) -> None:
        self.root = work / name
        self.scale, self.days, self.seed = scale, days, seed
        self.start = END - timedelta(days=days - 1)
        self.env = {
            **os.environ,
            "PRODUCTOPS_PII_SALT": "bench",
            "PRODUCTOPS_SETTINGS": str(ROOT / "bench" / "productops.toml"),
            "PRODUCTOPS_DATA_DIR": str(self.root / "data"),
            "DAGSTER_HOME": str(self.root / "dagster"),
        }

    def reset(self, keep_landing: bool = False) -> None:
        landing = self.root / "data" / "landing"
        kept = self.root / "landing.kept"
        if keep_landing and landing.exists():
            shutil.rmtree(kept, ignore_errors=True)
            landing.rename(kept)
        shutil.rmtree(self.root / "data", ignore_errors=True)
        shutil.rmtree(self.root / "dagster", ignore_errors=True)
        (self.root / "dagster").mkdir(parents=True)
        shutil.copy(ROOT / "dagster.yaml", self.root / "dagster" / "dagster.yaml")
        if keep_landing and kept.exists():
            (self.root / "data").mkdir(parents=True)
            kept.rename(landing)

    def write_sample(self, days: int | None = None) -> Measured:
        return measure(
            productops("sample", "--days", str(days or self.days), "--scale", str(self.scale),
                       "--seed", str(self.seed), "--end", END.isoformat()),
            self.env,
        )  # fmt: skip

    def run(self, start: date, profile: Path) -> tuple[Measured, dict]:
        got = measure(
            profiled(profile, "run", "--start", start.isoformat(), "--end", END.isoformat()),
            self.env,
        )
        return got, json.loads(profile.read_text())


def layer_seconds(profile: dict, wall_s: float | None = None) -> dict[str, float]:
    """Seconds per layer: each step's own work (its event writes moved to bookkeeping).

    Bookkeeping is the rest of `wall_s`, the process measured from outside (its start
    and exit included) when given, else the profile's own wall time."""
    layers = dict.fromkeys(LAYERS, 0.0)
    for step, t in profile["steps"].items():
        work = max(0.0, t["s"] - t["events_s"])
        layer = step.split("__", 1)[0]
        if _is_check(step):
            layers["validation"] += work
        elif layer == "raw":
            layers["ingest"] += work
        elif layer == "staging":
            layers["staging"] += work
        elif layer == "marts":
            layers["marts"] += work
        else:
            layers["publish"] += work
    layers["sentiment"] = min(profile["sentiment_s"], layers["marts"])
    layers["marts"] -= layers["sentiment"]
    wall = profile["wall_s"] if wall_s is None else wall_s
    layers["bookkeeping"] = max(0.0, wall - sum(layers.values()))
    return layers


def _is_check(step: str) -> bool:
    """A check step: a table's suite (`staging__feedback_checks`) or a mart's invariants."""
    return step.endswith(("_checks", "_metrics_consistent"))


def _median_run(runs: list[tuple[Measured, dict]]) -> tuple[Measured, dict]:
    """The median run by wall time, with its profile (a real run, not a blend)."""
    return sorted(runs, key=lambda run: run[0].wall_s)[len(runs) // 2]


def bench(args: argparse.Namespace) -> dict:
    work: Path = args.work
    results: dict = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": {"scale": args.scale, "days": args.days, "daily_scale": args.daily_scale,
                     "repeat": args.repeat, "seed": args.seed, "end": END.isoformat()},
    }  # fmt: skip
    big = Company(work, f"scale{args.scale:g}", args.scale, args.days, args.seed)
    big.reset()
    console.print(
        f"[bold]1. Sample[/bold] at scale {args.scale:g}, {args.days // 4} and {args.days} days"
    )
    short = big.write_sample(max(14, args.days // 4))
    big.reset()
    sample = big.write_sample()
    results["sample"] = {"s": sample.wall_s, "peak_rss_gib": sample.peak_rss_gib,
                         "peak_rss_gib_quarter_window": short.peak_rss_gib}  # fmt: skip

    console.print(f"[bold]2. Floor[/bold] x{args.repeat}")
    floors = []
    for _ in range(args.repeat):
        got = measure([sys.executable, "-m", "bench.floor", str(big.root / "data" / "landing"),
                       str(work / "floor.duckdb")], big.env)  # fmt: skip
        floors.append((got, json.loads(got.output.strip().splitlines()[-1])))
    floor_s = statistics.median(m.wall_s for m, _ in floors)
    results["floor"] = {
        "s": floor_s,
        "runs_s": [m.wall_s for m, _ in floors],
        "peak_rss_gib": max(m.peak_rss_gib for m, _ in floors),
        "load_s": statistics.median(f["load_s"] for _, f in floors),
        "sentiment_s": statistics.median(f["sentiment_s"] for _, f in floors),
        "texts": floors[0][1]["texts"],
        "rows": floors[0][1]["rows"],
    }

    console.print(f"[bold]3. Full backfill[/bold] {big.start} .. {END} x{args.repeat}")
    backfills = []
    for i in range(args.repeat):
        big.reset(keep_landing=True)
        got, profile = big.run(big.start, work / f"backfill{i}.json")
        backfills.append((got, profile))
        console.print(f"   {got.wall_s:.1f} s, peak {got.peak_rss_gib:.2f} GiB")
    backfill_s = statistics.median(m.wall_s for m, _ in backfills)
    median, profile = _median_run(backfills)
    layers = layer_seconds(profile, median.wall_s)
    results["backfill"] = {
        "s": backfill_s,
        "runs_s": [m.wall_s for m, _ in backfills],
        "peak_rss_gib": max(m.peak_rss_gib for m, _ in backfills),
        "layers_s": layers,
        "first_step_s": profile["first_step_s"],
        "events": profile["events"],
        "event_write_s": profile["event_write_s"],
        "days": profile["days"],
        "events_per_day": profile["events"] / max(profile["days"], 1),
    }

    console.print(
        f"[bold]4. Daily run[/bold] at 90 and 365 days of history (scale {args.daily_scale:g})"
    )
    results["daily"] = {}
    for history in (90, 365):
        company = Company(work, f"history{history}", args.daily_scale, history, args.seed)
        company.reset()
        company.write_sample()
        company.run(company.start, work / f"history{history}-backfill.json")
        runs = [
            company.run(END, work / f"history{history}-daily{i}.json") for i in range(args.repeat)
        ]
        median, daily_profile = _median_run(runs)
        results["daily"][str(history)] = {
            "s": statistics.median(m.wall_s for m, _ in runs),
            "runs_s": [m.wall_s for m, _ in runs],
            "peak_rss_gib": statistics.median(m.peak_rss_gib for m, _ in runs),
            "layers_s": layer_seconds(daily_profile, median.wall_s),
            "events": daily_profile["events"],
        }
        console.print(f"   {history} days: {results['daily'][str(history)]['s']:.1f} s")

    d90, d365 = results["daily"]["90"], results["daily"]["365"]
    results["backfill_over_floor"] = backfill_s / floor_s
    results["bookkeeping_share"] = layers["bookkeeping"] / backfill_s
    results["daily_bookkeeping_share"] = d90["layers_s"]["bookkeeping"] / d90["s"]
    results["peak_rss_gib"] = results["backfill"]["peak_rss_gib"]
    results["daily_365_over_90"] = d365["s"] / d90["s"]
    results["validation_share"] = d90["layers_s"]["validation"] / d90["s"]
    results["targets"] = {k: {"target": v, "measured": results[k], "met": results[k] <= v}
                          for k, v in TARGETS.items()}  # fmt: skip
    return results


def _table(results: dict) -> Table:
    table = Table(title="Where the time goes (seconds; medians)", title_justify="left")
    table.add_column("layer")
    columns = {"floor": None, "backfill": results["backfill"]["layers_s"],
               "daily 90 d": results["daily"]["90"]["layers_s"],
               "daily 365 d": results["daily"]["365"]["layers_s"]}  # fmt: skip
    for name in columns:
        table.add_column(name, justify="right")
    for layer in LAYERS:
        floor = {"ingest": results["floor"]["load_s"], "sentiment": results["floor"]["sentiment_s"]}
        table.add_row(layer, f"{floor[layer]:.1f}" if layer in floor else "",
                      *(f"{c[layer]:.1f}" for c in list(columns.values())[1:]))  # fmt: skip
    table.add_row("total", f"{results['floor']['s']:.1f}", f"{results['backfill']['s']:.1f}",
                  f"{results['daily']['90']['s']:.1f}", f"{results['daily']['365']['s']:.1f}")  # fmt: skip
    return table


def _targets_table(results: dict) -> Table:
    table = Table(title="Targets", title_justify="left")
    for col in ("measure", "target", "measured", "met"):
        table.add_column(col, justify="right" if col != "measure" else "left")
    for name, t in results["targets"].items():
        table.add_row(name, f"{t['target']:g}", f"{t['measured']:.2f}", "yes" if t["met"] else "NO")
    return table


WHY = {  # what each layer does that the floor does not
    "ingest": "keeps every record's original JSON text, with its provenance, in the raw "
    "Parquet lake (the floor keeps typed columns only), and checks and dates each record",
    "staging": "keeps the latest version of every key, tests every quarantine rule, strips "
    "HTML, redacts e-mails, phone numbers and people's names in free text, hashes people",
    "validation": "imports Great Expectations (about 0.8 s from compiled bytecode, once per "
    "process: its data context builds every fluent data source's pydantic model) and hands "
    "it the window's rows through pandas; reads the raw lake again for the vendor fields and "
    "duplicate deliveries of the days whose raw files changed, and reconciles raw with "
    "staging over the whole lake",
    "sentiment": "scores the new distinct texts with VADER, as the floor does",
    "marts": "builds the contract tables for every day of the window with their look-backs",
    "publish": "writes and renames a complete serving file, and renders the report",
    "bookkeeping": "is Dagster's own work: starting the process and loading the code "
    "location, a planned and a materialization event per asset and day, a check result per "
    "check and run and one per failed day, the start, output and end of every step, each "
    "stored on its own by Dagster's stock SQLite storage",
}


def held_back(results: dict) -> list[str]:
    """For each missed target, the layer that holds it back and why (from this run)."""
    out = []
    b, t = results["backfill"], results["targets"]
    top = sorted(b["layers_s"].items(), key=lambda kv: -kv[1])
    if not t["backfill_over_floor"]["met"]:
        worst = ", ".join(f"{k} {v:.0f} s" for k, v in top[:3])
        out.append(
            f"`backfill_over_floor`: the backfill's largest layers are {worst} against a "
            f"{results['floor']['s']:.0f} s floor. {top[0][0].capitalize()} "
            f"{WHY[top[0][0]]}."
        )
    if not t["bookkeeping_share"]["met"]:
        out.append(
            f"`bookkeeping_share`: {b['events']:,} events ({b['events_per_day']:.0f} per day), "
            f"{b['event_write_s']:.0f} s of them inside the steps, and {b['first_step_s']:.0f} s "
            f"before the first step; bookkeeping {WHY['bookkeeping']}."
        )
    if not t["daily_bookkeeping_share"]["met"]:
        d90 = results["daily"]["90"]
        out.append(
            f"`daily_bookkeeping_share`: {d90['layers_s']['bookkeeping']:.1f} s of the "
            f"{d90['s']:.1f} s daily run, {d90['events']:,} events; bookkeeping {WHY['bookkeeping']}."
        )
    if not t["daily_365_over_90"]["met"]:
        d90, d365 = results["daily"]["90"]["layers_s"], results["daily"]["365"]["layers_s"]
        grew = max(LAYERS, key=lambda k: d365[k] - d90[k])
        out.append(
            f"`daily_365_over_90`: {grew} grew most ({d90[grew]:.1f} s -> {d365[grew]:.1f} s): "
            f"it {WHY[grew]}."
        )
    if not t["validation_share"]["met"]:
        v = results["daily"]["90"]["layers_s"]["validation"]
        out.append(
            f"`validation_share`: validation takes {v:.1f} s of the daily run; {WHY['validation']}."
        )
    if not t["peak_rss_gib"]["met"]:
        out.append(f"`peak_rss_gib`: {b['peak_rss_gib']:.2f} GiB during the backfill.")
    return out


def summary_markdown(results: dict) -> str:
    """The results as the markdown page the README links."""
    s, b, f = results["settings"], results["backfill"], results["floor"]
    lines = [
        f"# Benchmark {results['date']}",
        "",
        f"`make bench` on {results['machine']['cores']} cores, Python {results['machine']['python']}: "
        f"a company at scale {s['scale']:g} over {s['days']} days (seed {s['seed']}, ending {s['end']}), "
        f"daily runs at scale {s['daily_scale']:g}; medians of {s['repeat']} runs, ratios within this run.",
        "",
        "| measure | target | measured | met |",
        "|---|---|---|---|",
    ]
    for name, t in results["targets"].items():
        lines.append(
            f"| `{name}` | {t['target']:g} | {t['measured']:.2f} | {'yes' if t['met'] else '**no**'} |"
        )
    missed = held_back(results)
    if missed:
        lines += ["", "Where a target is missed, what holds it back:", ""]
        lines += [f"- {line}" for line in missed]
    lines += [
        "",
        "| seconds | floor | full backfill | daily, 90 days | daily, 365 days |",
        "|---|---|---|---|---|",
    ]
    d90, d365 = results["daily"]["90"]["layers_s"], results["daily"]["365"]["layers_s"]
    floor = {"ingest": f["load_s"], "sentiment": f["sentiment_s"]}
    for layer in LAYERS:
        lines.append(f"| {layer} | {floor[layer]:.1f} |" if layer in floor else f"| {layer} | |")
        lines[-1] += f" {b['layers_s'][layer]:.1f} | {d90[layer]:.1f} | {d365[layer]:.1f} |"
    lines.append(f"| **total** | {f['s']:.1f} | {b['s']:.1f} | {results['daily']['90']['s']:.1f} | "
                 f"{results['daily']['365']['s']:.1f} |")  # fmt: skip
    lines += [
        "",
        f"- Floor: {sum(f['rows'].values()):,} rows loaded, {f['texts']:,} distinct texts scored; "
        f"peak {f['peak_rss_gib']:.2f} GiB.",
        f"- Backfill: {b['events']:,} Dagster events ({b['events_per_day']:.0f} per backfill day), "
        f"{b['event_write_s']:.1f} s of writes inside the steps; "
        f"{b['first_step_s']:.1f} s before the first step; peak {b['peak_rss_gib']:.2f} GiB "
        "(the process and its children).",
        f"- Sample: {results['sample']['s']:.1f} s, peak {results['sample']['peak_rss_gib']:.2f} GiB "
        f"({results['sample']['peak_rss_gib_quarter_window']:.2f} GiB for a quarter of the days).",
        "",
        "Ingest is the raw assets; staging the staging assets; validation every check step; "
        "sentiment the VADER scoring inside the mart steps; publish the serving assets and the "
        "report; bookkeeping the rest of the wall time: imports and Dagster's work before the "
        "first step, every event write, the gaps between steps, and the process's exit.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=10.0, help="the benchmark company's scale")
    p.add_argument("--days", type=int, default=90, help="its window, in days")
    p.add_argument(
        "--daily-scale", type=float, default=1.0, help="scale of the daily-run companies"
    )
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--work", type=Path, default=ROOT / "bench" / "work")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--render", type=Path, metavar="RESULTS_JSON",
                   help="measure nothing: write the markdown summary of a results file again")  # fmt: skip
    args = p.parse_args()
    if args.render:
        results = json.loads(args.render.read_text())
        results["held_back"] = held_back(results)
        args.render.write_text(json.dumps(results, indent=2) + "\n")
        args.render.with_suffix(".md").write_text(summary_markdown(results))
        console.print(f"Written to {args.render.with_suffix('.md')}")
        return 0
    results = bench(args)
    console.print(_table(results))
    console.print(_targets_table(results))
    args.out.mkdir(parents=True, exist_ok=True)
    results["held_back"] = held_back(results)
    # One file per run: a second run on the same day gets -2, -3, ...
    stem = args.out / results["date"]
    for n in range(2, 100):
        if not stem.with_suffix(".json").exists():
            break
        stem = args.out / f"{results['date']}-{n}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    stem.with_suffix(".md").write_text(summary_markdown(results))
    console.print(f"Written to {stem}.json and {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
