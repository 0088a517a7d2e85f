"""`productops`: the entry point outside the Dagster UI.

productops sample   write the sample company's landing files
productops run      materialise the asset graph for a window of days
productops summary  rows per layer, quarantine and reconciliation, headline figures
productops accept   accept a day that failed a blocking check (or --undo)
productops withdraw take days out of the metrics and republish
productops ui       the Dagster UI and daemon (refuses a busy port or a second UI)
"""

from __future__ import annotations

import argparse
import gc
import getpass
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from productops import __version__
from productops.report_files import written
from productops.settings import data_paths

console = Console(stderr=False)
DEFAULT_DAYS = 90


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def cmd_sample(args: argparse.Namespace) -> int:
    from productops.sample import write_sample

    paths = data_paths()
    end = args.end or _yesterday()
    started = time.perf_counter()
    with console.status(f"Writing the sample company (seed {args.seed}, scale {args.scale})..."):
        summary = write_sample(paths, seed=args.seed, scale=args.scale, days=args.days, end=end)
    st = summary.stories
    table = Table(title=f"Sample company written to {paths.landing}", title_justify="left")
    table.add_column("source")
    table.add_column("files", justify="right")
    table.add_column("records", justify="right")
    for source, files in summary.files.items():
        table.add_row(source, str(files), f"{summary.records[source]:,}")
    console.print(table)
    console.print(
        f"Window {st.start} .. {st.end} ({args.days} days), {time.perf_counter() - started:.1f} s. "
        f"Stories: onboarding fix for '{st.onboarding_plan}' on {st.onboarding_fix}, "
        f"price change on {st.price_change}, incident on {st.incident}, "
        f"German app update (App Store, German reviews only) on {st.app_update_de}, "
        f"under-used tool '{st.underused_tool}'."
    )
    if args.corrupt:
        from productops.sample.corrupt import write_corrupt_day

        broken = write_corrupt_day(paths, args.corrupt, seed=args.seed, scale=args.scale)
        console.print(
            f"[yellow]Broken day {args.corrupt} written:[/yellow] "
            + ", ".join(str(p.relative_to(paths.root)) for p in broken)
        )
    default_end = _yesterday()
    if st.end != default_end or args.days != DEFAULT_DAYS:
        console.print(f"Next: productops run --start {st.start} --end {st.end}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.runner import ensure_dagster_home, materialise

    end = args.end or _yesterday()
    start = args.start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        console.print(f"[red]--start {start} is after --end {end}[/red]")
        return 2
    if args.submit:
        return _submit(args, start, end)
    home = ensure_dagster_home()
    console.print(
        f"Materialising {start} .. {end} ({(end - start).days + 1} days); Dagster home {home}"
    )
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as progress:  # fmt: skip
        task = progress.add_task("steps", total=None)

        def on_step(step: str, status: str, total: int) -> None:
            progress.update(task, total=total, description=f"{status:>7} {step}")
            if status != "started":
                progress.advance(task)

        def on_notice(message: str) -> None:
            progress.console.print(f"[yellow]{message}.[/yellow]")

        try:
            outcome = materialise(
                start, end, select=args.select or None, on_step=on_step, on_notice=on_notice,
                log_level="DEBUG" if args.verbose else "INFO",
            )  # fmt: skip
        except Exception as exc:  # a selection that matches nothing, a broken definition
            console.print(f"[red]Could not start the run: {escape(str(exc))}[/red]")
            return 2
    took = time.perf_counter() - started
    if outcome.recovered:
        console.print(
            f"[yellow]Recovered before starting: {outcome.recovered.describe()}.[/yellow]"
        )
    for warning in outcome.warnings:
        console.print(f"[yellow]warning: {warning}[/yellow]")
    if outcome.failed_checks:
        console.print(
            f"[red]Run {outcome.run_id}: {len(outcome.failed_checks)} blocking check(s) failed. "
            "The failing sources' marts were not rebuilt and stay as last published; the other "
            "sources' are fresh:[/red]"
        )
        for check in outcome.failed_checks:
            console.print(f"[red]  - {check}[/red]")
        if outcome.trust_run_id:
            console.print(
                "Published the fresh tables with data_trust and the combined marts "
                f"(run {outcome.trust_run_id})."
            )
            _print_held(data_paths())
        return 1
    if not outcome.success:
        console.print(f"[red]Run {outcome.run_id} failed after {took:.1f} s.[/red]")
        for err in outcome.errors:
            console.print(f"[red]  - {err}[/red]")
        console.print("Open the run in the UI (make ui) for the full logs.")
        return 1
    console.print(f"[green]Run {outcome.run_id} succeeded in {took:.1f} s.[/green]")
    report = _latest_report(data_paths())
    if report:
        console.print(f"Report: {report}")
    return 0


def _submit(args: argparse.Namespace, start: date, end: date) -> int:
    """Queue the run on the webserver at --url; its daemon launches it (team profile)."""
    from pipelines.runner import run_status, submit

    try:
        run_id = submit(args.url, start, end, args.select)
    except Exception as exc:  # no webserver there, a selection it does not know
        console.print(f"[red]Could not submit the run to {args.url}: {escape(str(exc))}[/red]")
        return 2
    console.print(f"Queued run {run_id} for {start} .. {end} on {args.url}")
    if not args.wait:
        return 0
    status = "QUEUED"
    while status not in ("SUCCESS", "FAILURE", "CANCELED"):
        time.sleep(2)  # a CLI waiting for a remote run: polling is all GraphQL offers
        status = run_status(args.url, run_id)
    console.print(f"Run {run_id}: {status}")
    return 0 if status == "SUCCESS" else 1


def _latest_report(paths) -> Path | None:
    """The report of the latest day (by its name: a backfill writes earlier days too)."""
    found = written(paths.reports)
    return found[max(found)] if found else None


def cmd_summary(args: argparse.Namespace) -> int:
    from productops.summary import source_counts

    paths = data_paths()
    counts = source_counts(paths)
    if not counts:
        console.print(f"No warehouse at {paths.warehouse} yet: run `productops run` first.")
        return 1
    table = Table(title="Rows per layer", title_justify="left")
    for col in ("source", "raw rows", "raw keys", "staging", "quarantine", "keys match"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for c in counts:
        table.add_row(
            c.source, f"{c.raw_rows:,}", f"{c.raw_keys:,}", f"{c.staged:,}", f"{c.quarantined:,}",
            "[green]yes[/green]" if c.reconciled else "[red]NO[/red]",
        )  # fmt: skip
    console.print(table)
    for c in counts:
        if c.raw_rows == 0:
            console.print(f"[yellow]warning: {c.source} has delivered nothing yet.[/yellow]")
    _print_headline(paths)
    console.print(
        "raw keys = distinct record ids (and records without one) per day; staging + "
        "quarantine must equal them on every day.\n"
        f"Landing files: {paths.landing}\nRaw lake:      {paths.store.url('raw')}\n"
        f"Warehouse:     {paths.warehouse}\n"
        f"Serving (BI):  {paths.serving}\n"
        f"Report:        {_latest_report(paths) or 'none yet'}\n"
        "Quarantined rows and why: SELECT rule, reason FROM quarantine.<source>\n"
        "Dagster UI:    make ui, then http://127.0.0.1:3000"
    )
    return 0 if all(c.reconciled for c in counts) else 1


def _republish(
    start: date, end: date, select: list[str], tags: dict[str, str] | None = None
) -> int:
    from pipelines.runner import ensure_dagster_home, materialise

    ensure_dagster_home()
    with console.status("Republishing..."):
        outcome = materialise(start, end, select=select, tags=tags,
                              on_notice=lambda m: console.print(f"[yellow]{m}.[/yellow]"))  # fmt: skip
    if not outcome.success:
        for line in outcome.failed_checks + outcome.errors:
            console.print(f"[red]  - {line}[/red]")
        console.print(f"[red]Republishing failed (run {outcome.run_id}).[/red]")
        return 1
    console.print(f"[green]Republished (run {outcome.run_id}).[/green]")
    return 0


@contextmanager
def _warehouse_write(paths) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse, opened for a change a person makes, under the data folder's run lock."""
    from productops.lakehouse import open_warehouse
    from productops.recovery import data_folder_lock
    from productops.settings import pii_salt

    waiting = lambda holder: console.print(f"Waiting for {holder}...")  # noqa: E731
    with (
        data_folder_lock(paths, on_wait=waiting),
        open_warehouse(paths, salt=pii_salt(paths)) as con,
    ):
        yield con


def cmd_accept(args: argparse.Namespace) -> int:
    from productops import overrides
    from productops.lakehouse import warehouse_exists
    from productops.marts import COMBINED, own_marts

    paths = data_paths()
    if not warehouse_exists(paths):
        console.print(f"[red]No warehouse at {paths.warehouse}: nothing to accept.[/red]")
        return 2
    now = datetime.now(UTC)
    with _warehouse_write(paths) as con:
        try:
            if args.undo:
                done = overrides.undo_accept(con, args.source, args.date, by=args.by, now=now)
            else:
                done = overrides.accept(
                    con, args.source, args.date, reason=args.reason or "", by=args.by, now=now
                )
        except overrides.OverrideError as exc:
            console.print(f"[red]{exc}[/red]")
            return 2
    verb = "Restored the failures of" if args.undo else "Accepted"
    console.print(f"{verb} {args.source} on {args.date}: {', '.join(done.checks)} (by {args.by}).")
    # The accepted source's marts and the combined ones: another source still held back
    # stays as last published.
    own = [f"marts/{t}" for t in own_marts(args.source)]
    return _republish(
        args.date, args.date, [*own, *(f"marts/{t}" for t in COMBINED), "group:serving"]
    )


def cmd_withdraw(args: argparse.Namespace) -> int:
    from productops import overrides
    from productops.lakehouse import warehouse_exists
    from productops.serving import REPUBLISH_TAG

    paths = data_paths()
    end = args.end or args.start
    if end < args.start:
        console.print(f"[red]--start {args.start} is after --end {end}[/red]")
        return 2
    if not warehouse_exists(paths):
        console.print(f"[red]No warehouse at {paths.warehouse}: nothing to withdraw.[/red]")
        return 2
    with _warehouse_write(paths) as con:
        try:
            rows = overrides.withdraw(con, args.start, end, reason=args.reason or "", by=args.by,
                                      now=datetime.now(UTC))  # fmt: skip
        except overrides.OverrideError as exc:
            console.print(f"[red]{exc}[/red]")
            return 2
    console.print(f"Withdrew {args.start} .. {end} from the metrics: {rows:,} mart rows deleted.")
    today = datetime.now(UTC).date()
    return _republish(
        today, today, ["serving/publication", "serving/report"], {REPUBLISH_TAG: "all"}
    )


def cmd_publish(args: argparse.Namespace) -> int:
    """Every contract table from the warehouse to serving: after a backfill that several
    workers split (each run publishes what it saw; this publishes what they all wrote)."""
    from productops.serving import REPUBLISH_TAG

    today = datetime.now(UTC).date()
    return _republish(
        today, today, ["serving/publication", "serving/report"], {REPUBLISH_TAG: "all"}
    )


def _print_held(paths) -> None:
    """What the latest publication holds back, and what to do about it."""
    from productops import held, sql

    if paths.serving.exists():
        with sql.connect(paths.serving, read_only=True) as con:
            _print_held_sources(held.published(con))


def _print_held_sources(sources) -> None:  # list[productops.held.Held], imported late
    for source in sources:
        console.print(f"[red]{escape(source.sentence())}[/red]")


def _print_headline(paths) -> None:
    from productops.summary import headline

    found = headline(paths)
    if found is None:
        console.print(f"Nothing published to {paths.serving} yet.")
        return
    f = found.figures
    console.print(f"Latest publication: {found.published} ({paths.serving})")
    table = Table(title=f"Latest published day: {found.day}", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in f.items():
        if isinstance(value, list):
            shown = ", ".join(value) or "none"
        elif value is None:
            shown = "-"
        elif isinstance(value, str):  # languages: a JSON object of counts
            shown = value
        else:
            shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
        table.add_row(name, shown)
    console.print(table)
    for source in found.silent:
        console.print(f"[yellow]warning: {source} delivered no records on {found.day}.[/yellow]")
    for source, notes in found.untrusted:
        console.print(f"[yellow]{source} is not trusted on {found.day}: {notes}[/yellow]")
    _print_held_sources(found.held)


def cmd_ui(args: argparse.Namespace) -> int:
    from pipelines.runner import ensure_dagster_home, ensure_pools, open_instance
    from productops.ui import launch

    home = ensure_dagster_home()
    with open_instance() as instance:  # before the daemon launches any run
        ensure_pools(instance)
    console.print(f"Dagster UI on http://{args.host}:{args.port} (Dagster home {home})")
    console.print(f"[red]{launch(home, args.host, args.port)}[/red]")
    return 2  # launch returns only when the UI cannot start


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="productops", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sample", help="write the sample company's landing files")
    s.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days of history (default 90)")
    s.add_argument("--scale", type=float, default=1.0, help="1 = 500 employees, 5,000 accounts")
    s.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    s.add_argument("--end", type=_date, help="last day, YYYY-MM-DD (default: yesterday, UTC)")
    s.add_argument(
        "--corrupt",
        type=_date,
        metavar="DATE",
        help="also write a realistically broken day: scores out of range, renamed columns, "
        "a batch delivered twice",
    )
    s.set_defaults(func=cmd_sample)
    r = sub.add_parser("run", help="materialise the asset graph for a window of days")
    r.add_argument("--start", type=_date, help="first day (default: 89 days before --end)")
    r.add_argument("--end", type=_date, help="last day (default: yesterday, UTC)")
    r.add_argument(
        "--select",
        nargs="+",
        help="assets: keys such as staging/nps_responses, or Dagster selections such as "
        "group:marts or key:staging/* (default: all)",
    )
    r.add_argument("-v", "--verbose", action="store_true", help="Dagster's DEBUG logs too")
    r.add_argument(
        "--submit", action="store_true",
        help="queue the run on a running webserver (its daemon launches it) instead of "
        "executing it here",
    )  # fmt: skip
    r.add_argument("--url", default="http://127.0.0.1:3000", help="the webserver, for --submit")
    r.add_argument("--wait", action="store_true", help="with --submit: wait for the run's end")
    r.set_defaults(func=cmd_run)
    by = getpass.getuser()
    a = sub.add_parser(
        "accept", help="accept a day that failed a blocking check (recorded, reversible)"
    )
    a.add_argument("source", help="nps, feedback, social, tool_usage or licences")
    a.add_argument("date", type=_date, help="the day, YYYY-MM-DD")
    a.add_argument("--reason", help="why the day can be trusted (required)")
    a.add_argument("--by", default=by, help=f"who accepts it (default: {by})")
    a.add_argument("--undo", action="store_true", help="restore the failures instead")
    a.set_defaults(func=cmd_accept)
    w = sub.add_parser("withdraw", help="take days out of the metrics and republish")
    w.add_argument("--start", type=_date, required=True, help="first day to withdraw")
    w.add_argument("--end", type=_date, help="last day (default: --start)")
    w.add_argument("--reason", help="why (required), e.g. 'run for the wrong dates'")
    w.add_argument("--by", default=by, help=f"who withdraws them (default: {by})")
    w.set_defaults(func=cmd_withdraw)
    pub = sub.add_parser(
        "publish", help="publish every table from the warehouse to serving (after a split backfill)"
    )
    pub.set_defaults(func=cmd_publish)
    m = sub.add_parser("summary", help="rows per layer, quarantine and reconciliation")
    m.set_defaults(func=cmd_summary)
    u = sub.add_parser("ui", help="the Dagster UI and daemon on a local port")
    u.add_argument("--port", type=int, default=3000, help="default 3000 (make ui UI_PORT=...)")
    u.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")
    u.set_defaults(func=cmd_ui)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from productops.permissions import private_umask

    private_umask()  # the data folder is its owner's alone
    try:
        return args.func(args)
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        return 2
    except Exception as exc:
        dagster = sys.modules.get("dagster")  # imported by then if the error is Dagster's
        if dagster is None or not isinstance(exc, dagster.DagsterInvalidConfigError):
            raise
        # The instance config names settings (the team profile's PRODUCTOPS_PG_*) that are
        # not set: say which, not Dagster's traceback.
        unset = sorted(set(re.findall(r'environment variable "(\w+)" which is not set', str(exc))))
        why = f"that are not set: {', '.join(unset)}." if unset else str(exc).splitlines()[0]
        home = os.environ.get("DAGSTER_HOME", "the Dagster home")
        console.print(
            f"[red]The Dagster instance config in {escape(home)}/dagster.yaml needs settings "
            f"{escape(why)} See docs/team.md for the team profile's.[/red]"
        )
        return 2


def entry() -> None:
    """The `productops` command: `main`, then an exit without Python's last collections.

    At exit Python walks the heap Dagster, GX and pandas leave behind for cycles, about
    a second per command (measured on a daily run); frozen, the objects are still freed
    and the files closed, and the operating system takes the memory back. Not in
    `main`, which the tests call in their own long-lived process.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
