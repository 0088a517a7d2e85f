"""How the daily run scales with history, measured as a user runs it.

For each history length (90 and 365 days by default) a sample company is written and
backfilled once; then the daily run (the last day, `productops run --start D --end D`)
is timed `--repeat` times in a fresh process, with its peak memory. The 90-day daily
run is the baseline the 365-day one is divided by; a bare start-up of the code location
(`import pipelines.definitions`) is measured too, as the floor under every run. Results
go to the console and to bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from productops.quality.engine import CHECKS

ROOT = Path(__file__).resolve().parents[1]
END = date(2026, 6, 30)
console = Console()


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process; raises if it fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    err = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024


CHECK_SUFFIXES = tuple(f"_{name}" for name in (*CHECKS, "metrics_consistent"))


def step_split(dagster_home: Path) -> tuple[float, float]:
    """Seconds spent materialising assets and validating them (check steps) in the latest run."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    (run,) = instance.get_run_records(limit=1)
    assets = checks = 0.0
    for stat in instance.get_run_step_stats(run.dagster_run.run_id):
        took = (stat.end_time or 0) - (stat.start_time or 0)
        if stat.step_key.endswith(CHECK_SUFFIXES):
            checks += took
        else:
            assets += took
    return assets, checks


def productops(*args: str) -> list[str]:
    return [sys.executable, "-m", "productops.cli", *args]


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--histories", type=int, nargs="+", default=[90, 365])
    p.add_argument("--work", type=Path, default=ROOT / "bench" / "work")
    args = p.parse_args()

    results: dict = {"scale": args.scale, "repeat": args.repeat, "end": END.isoformat(), "runs": {}}
    base_env = {**os.environ, "PRODUCTOPS_PII_SALT": "bench",
                "PRODUCTOPS_SETTINGS": str(Path(__file__).with_name("productops.toml"))}  # fmt: skip
    floor = [timed([sys.executable, "-W", "ignore", "-c", "import pipelines.definitions"], base_env)[0]
             for _ in range(args.repeat)]  # fmt: skip
    results["startup_s"] = statistics.median(floor)
    for days in args.histories:
        work = args.work / f"h{days}"
        shutil.rmtree(work, ignore_errors=True)
        (work / "dagster").mkdir(parents=True)
        env = {
            **base_env,
            "PRODUCTOPS_DATA_DIR": str(work / "data"),
            "DAGSTER_HOME": str(work / "dagster"),
        }
        shutil.copy(ROOT / "config" / "dagster.yaml", work / "dagster" / "dagster.yaml")
        start = END - timedelta(days=days - 1)
        console.print(f"[bold]{days} days[/bold]: writing the sample (scale {args.scale})...")
        sample_s, _ = timed(productops("sample", "--days", str(days), "--scale", str(args.scale),
                                       "--end", END.isoformat()), env)  # fmt: skip
        console.print(f"  backfilling {start} .. {END}...")
        backfill_s, backfill_mb = timed(
            productops("run", "--start", start.isoformat(), "--end", END.isoformat()), env
        )
        daily, split = [], []
        for _ in range(args.repeat):
            daily.append(
                timed(productops("run", "--start", END.isoformat(), "--end", END.isoformat()), env)
            )
            split.append(step_split(work / "dagster"))
        results["runs"][days] = {
            "sample_s": sample_s,
            "backfill_s": backfill_s,
            "backfill_peak_mib": backfill_mb,
            "daily_s": [d[0] for d in daily],
            "daily_median_s": statistics.median(d[0] for d in daily),
            "daily_peak_mib": statistics.median(d[1] for d in daily),
            "daily_materialise_s": statistics.median(a for a, _ in split),
            "daily_validate_s": statistics.median(c for _, c in split),
        }
        console.print(
            f"  daily run: {results['runs'][days]['daily_median_s']:.1f} s (median of {args.repeat})"
        )

    base = results["runs"][args.histories[0]]
    table = Table(
        title=f"Daily run vs history (scale {args.scale}, medians of {args.repeat})",
        title_justify="left",
    )
    for col in (
        "history",
        "backfill s",
        "daily run s",
        "x startup",
        f"x {args.histories[0]}-day run",
        "peak MiB",
        "peak ratio",
    ):
        table.add_column(col, justify="right")
    for days, r in results["runs"].items():
        table.add_row(
            f"{days} d", f"{r['backfill_s']:.1f}", f"{r['daily_median_s']:.1f}",
            f"{r['daily_median_s'] / results['startup_s']:.2f}",
            f"{r['daily_median_s'] / base['daily_median_s']:.2f}",
            f"{r['daily_peak_mib']:.0f}", f"{r['daily_peak_mib'] / base['daily_peak_mib']:.2f}",
        )  # fmt: skip
    console.print(table)
    console.print(f"Start-up floor (import the code location): {results['startup_s']:.1f} s")
    for days, r in results["runs"].items():
        console.print(
            f"{days} d, daily run: validation {r['daily_validate_s']:.1f} s vs materialisation "
            f"{r['daily_materialise_s']:.1f} s of the same partition "
            f"(ratio {r['daily_validate_s'] / r['daily_materialise_s']:.2f}, medians)"
        )
    out = ROOT / "bench" / "results" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    console.print(f"Written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
