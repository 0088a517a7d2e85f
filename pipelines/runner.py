"""Materialise the asset graph for a window of days, in-process, against the Dagster instance.

Runs recorded here show up in the Dagster UI (`make ui`) like any other run.
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from pipelines.definitions import current_definitions
from productops import permissions
from productops.config_files import config_file
from productops.marts import COMBINED
from productops.range_tags import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from productops.recovery import Recovery, data_folder_lock, recover, run_tags
from productops.settings import data_paths, first_day, settings_file

# Rebuilt after a blocking check failed, from the trusted source-days (data_trust from
# the check results), and published with every mart the failure did not hold back.
FOLLOW_UP = (*(f"marts/{t}" for t in COMBINED), "serving/publication", "serving/report")


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    failed_steps: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)  # blocking checks that failed
    warnings: list[str] = field(default_factory=list)  # WARN checks that failed
    trust_run_id: str | None = None  # the follow-up run that published around the failure
    recovered: Recovery | None = None  # what earlier, killed runs had left and was repaired


def resolve_selection(select: Sequence[str], graph) -> list[dg.AssetKey]:
    """Dagster selection syntax (`group:marts`, `key:staging/*`, `+marts/kpi_daily`); a bare
    asset key such as `staging/nps_responses` selects that asset."""
    terms = [s if ":" in s else f'key:"{s}"' for s in select]
    keys = list(dg.AssetSelection.from_string(" or ".join(terms)).resolve(graph))
    if not keys:
        known = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
        groups = sorted({graph.get(k).group_name for k in graph.get_all_asset_keys()})
        raise ValueError(
            f"--select {' '.join(select)} matches no asset. Assets: {', '.join(known)}. "
            f"Groups: {', '.join(f'group:{g}' for g in groups)}."
        )
    return keys


PROFILE_ENV = "PRODUCTOPS_PROFILE"
# The Dagster instance config of each profile (config/): one machine with SQLite, or the
# team profile, PostgreSQL storage and the queued run coordinator (README: a team).
PROFILES = {"local": "dagster.yaml", "team": "dagster.team.yaml"}


def instance_config() -> str:
    """The instance config file's name for `$PRODUCTOPS_PROFILE` (local by default)."""
    profile = os.environ.get(PROFILE_ENV) or "local"
    if profile not in PROFILES:
        raise ValueError(f"${PROFILE_ENV} = {profile!r}: use one of {', '.join(PROFILES)}")
    return PROFILES[profile]


def ensure_dagster_home() -> Path:
    """The Dagster home: `$DAGSTER_HOME` when set, else the folder holding the profile's
    instance config, set as `$DAGSTER_HOME` for this process and the ones it starts.

    The local profile run from the checkout uses the checkout itself, where its
    `dagster.yaml` is: Dagster keeps the instance's state beside it (git-ignored), and
    `dagster dev` finds the config where it looks. Run elsewhere (installed from a wheel),
    or for the team profile, the home is `.dagster_home/` (`.dagster_home_team/`) with
    the profile's config linked in.
    """
    name = instance_config()
    home = os.environ.get("DAGSTER_HOME")
    if home:
        Path(home).mkdir(parents=True, exist_ok=True)
        # A home without its own config gets the project's: without it, runs launched
        # from the UI would write the warehouse concurrently (its pool limit is there).
        project = config_file(name)
        if project.exists() and not (Path(home) / "dagster.yaml").exists():
            with contextlib.suppress(FileExistsError):
                (Path(home) / "dagster.yaml").symlink_to(project)
        return Path(home)
    if name == "dagster.yaml" and (Path.cwd() / name).is_file():
        path = Path.cwd()
    else:
        path = Path.cwd() / (".dagster_home" if name == "dagster.yaml" else ".dagster_home_team")
        path.mkdir(exist_ok=True)
        link = path / "dagster.yaml"
        if not link.exists():
            link.unlink(missing_ok=True)  # a dangling link, left by an older layout
            # The checkout's config/ when run from it, else the one installed with the code.
            beside = (Path.cwd() / "config" / name).exists()
            target = Path("..", "config", name) if beside else config_file(name)
            with contextlib.suppress(FileExistsError):  # two runs started at once
                link.symlink_to(target)
    os.environ["DAGSTER_HOME"] = str(path)
    return path


def _graphql(url: str):  # -> DagsterGraphQLClient, imported late (only --submit needs it)
    from urllib.parse import urlparse

    from dagster_graphql import DagsterGraphQLClient

    where = urlparse(url)
    return DagsterGraphQLClient(
        where.hostname or "127.0.0.1", port_number=where.port, use_https=where.scheme == "https"
    )


def submit(url: str, start: date, end: date, select: Sequence[str] | None = None) -> str:
    """Queue the daily job for [start, end] on a running webserver (its daemon launches
    it) instead of executing in this process. Returns the run id."""
    return _graphql(url).submit_job_execution(
        "daily_refresh",
        tags={
            PARTITION_RANGE_START_TAG: start.isoformat(),
            PARTITION_RANGE_END_TAG: end.isoformat(),
        },
        asset_selection=[k.split("/") for k in select] if select else None,
    )


def run_status(url: str, run_id: str) -> str:
    return _graphql(url).get_run_status(run_id).value


def _run(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    run_id: str,
    keys: list[dg.AssetKey] | None,
    window: tuple[date, date],
    log_level: str,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    with _collector_frozen():
        return job.execute_in_process(
            instance=instance,
            run_id=run_id,
            asset_selection=keys,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            tags={
                PARTITION_RANGE_START_TAG: window[0].isoformat(),
                PARTITION_RANGE_END_TAG: window[1].isoformat(),
                **run_tags(data_paths()),
                **(tags or {}),
            },
        )


@contextlib.contextmanager
def _collector_frozen() -> Iterator[None]:
    """Python's collector would walk the definitions and Dagster's modules (hundreds of
    thousands of objects that live as long as the process) again and again while GX
    imports and events are built: frozen, a daily run takes 0.2-0.3 s less (measured)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _collect(result: dg.ExecuteInProcessResult, outcome: RunOutcome) -> None:
    """Failed steps with the error that caused them, and failed checks with their line."""
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            outcome.failed_steps.append(event.step_key or "?")
            info = event.step_failure_data.error
            # Dagster wraps the asset's exception; its cause is what the user needs to read.
            while info is not None and info.cause is not None:
                info = info.cause
            if info:
                outcome.errors.append(f"{event.step_key}: {info.message.strip()}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            if not evaluation.passed:
                line = f"{evaluation.description or evaluation.check_name}"
                blocking = evaluation.severity == dg.AssetCheckSeverity.ERROR
                (outcome.failed_checks if blocking else outcome.warnings).append(line)
        elif event.event_type == dg.DagsterEventType.RUN_FAILURE and not outcome.errors:
            outcome.errors.append(event.message or "run failed")


def materialise(
    start: date,
    end: date,
    *,
    select: Sequence[str] | None = None,
    instance: dg.DagsterInstance | None = None,
    on_step: Callable[[str, str, int], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    log_level: str = "INFO",
    tags: dict[str, str] | None = None,
) -> RunOutcome:
    """Materialise the selected assets (all by default) for the days start..end.

    When a blocking check fails, Dagster skips the metric marts downstream; a second,
    small run then republishes data_trust (built from the check results), so that BI
    sees which source failed while its metric tables stay at the last trusted state.
    `on_step(step_key, status, total_steps)` is called from a watcher thread as steps end.
    The run holds the data folder's lock throughout (`productops.recovery`); `on_notice`
    hears when it has to wait for another run, and what a killed earlier run left behind.
    """
    today = datetime.now(UTC).date()
    if end > today:
        raise ValueError(
            f"the window ends on {end}, after today ({today}, UTC): no data can have arrived "
            "for those days, and an empty day must not be published as trusted. "
            "Use --end with today or an earlier day."
        )
    first = first_day()
    if start < first:
        raise ValueError(
            f"the window starts on {start}, before the first day of the daily partitions "
            f"({first}, set as [partitions] first_day in {settings_file()}). Start on {first} "
            "or later, or set first_day once to the day your data starts."
        )
    permissions.private_umask()
    paths = data_paths()
    notice = on_notice or (lambda _: None)
    with data_folder_lock(paths, on_wait=lambda holder: notice(f"Waiting for {holder} to finish")):
        # Opened under the lock: two processes creating a fresh SQLite instance's tables at
        # once fail with an OperationalError (seen in CI with two runs started together).
        instance = instance or open_instance()
        recovered = recover(instance, paths)
        if recovered:
            notice(f"Recovered before starting: {recovered.describe()}")
        outcome = _materialise(start, end, select, instance, on_step, log_level, tags)
    outcome.recovered = recovered
    return outcome


def _pools(definition: object) -> set[str]:
    pool = getattr(getattr(definition, "node_def", None), "pool", None)
    return {pool} if pool else set()


def open_instance(attempts: int = 5) -> dg.DagsterInstance:
    """`DagsterInstance.get()`, for two workers that start at once on a new database.

    The data folder's lock keeps two runs of one folder apart, but the team profile's
    workers have folders of their own and share PostgreSQL: on a database nobody has
    used yet, both create Dagster's tables, and the loser fails with "already exists"
    (dagster-postgres retries once, not always long enough). The tables are there then,
    so opening again after a pause succeeds.
    """
    from sqlalchemy.exc import DBAPIError

    for attempt in range(attempts):
        try:
            return dg.DagsterInstance.get()
        except DBAPIError as exc:
            if "already exists" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0.5, 2.0))
    raise AssertionError("not reached")


def ensure_pools(instance: dg.DagsterInstance, defs: dg.Definitions | None = None) -> None:
    """Give each pool of the definitions its limit row before any step claims a slot.

    Dagster creates the row on a pool's first claim; two runs claiming a new pool at
    once in PostgreSQL (two workers, or a sensor's run beside a submitted one) fail with
    a unique-key violation: the second insert aborts the transaction that Dagster meant
    to recover in. Created here, one by one, before a run and before the daemon starts, a
    pool that another process created meanwhile is simply there on the next look.
    """
    defs = defs or current_definitions()
    pools = {p for a in [*(defs.assets or []), *(defs.asset_checks or [])] for p in _pools(a)}
    storage = instance.event_log_storage
    for _ in range(5):
        missing = pools - set(storage.get_concurrency_keys())
        if not missing:
            return
        raced = False
        for pool in sorted(missing):
            try:
                created = storage.initialize_concurrency_limit_to_default(pool)
            except Exception:  # another worker's insert won: look again
                created = raced = True
            if not created:  # an instance without a default pool limit (an ephemeral one)
                return
        if raced:
            time.sleep(random.uniform(0.05, 0.5))


def _materialise(
    start: date,
    end: date,
    select: Sequence[str] | None,
    instance: dg.DagsterInstance,
    on_step: Callable[[str, str, int], None] | None,
    log_level: str,
    tags: dict[str, str] | None,
) -> RunOutcome:
    defs = current_definitions()
    job = defs.resolve_job_def("daily_refresh")
    graph = defs.resolve_asset_graph()
    keys = resolve_selection(select, graph) if select else None
    assets = set(keys) if keys else set(job.asset_layer.executable_asset_keys)
    checks = graph.get_check_keys_for_assets(assets)
    # A table's checks run as one step (a multi-asset check): count steps, not checks.
    check_steps = {c.node_def.name for c in defs.asset_checks if set(c.check_keys) & checks}
    total = len(assets) + len(check_steps)
    ensure_pools(instance, defs)
    outcome = RunOutcome(run_id=str(uuid.uuid4()), success=False)
    done = threading.Event()

    def watch() -> None:
        if on_step is None:
            return
        follower = _StepWatcher(instance, outcome.run_id, total, on_step)
        while not done.wait(0.5):
            follower.poll()
        follower.poll()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        result = _run(job, instance, outcome.run_id, keys, (start, end), log_level, tags)
    finally:
        done.set()
        watcher.join()
    outcome.success = result.success
    _collect(result, outcome)
    if outcome.failed_checks:
        follow_up = resolve_selection(FOLLOW_UP, graph)
        if keys is None or set(follow_up) <= set(keys):
            # Dagster skipped everything downstream of the failed source in the run,
            # the combined marts and the publication included: built here from what is
            # trusted, they publish the other sources' fresh marts beside the held ones.
            built = {e.asset_key for e in result.get_asset_materialization_events()}
            todo = [k for k in follow_up if k not in built]
            outcome.trust_run_id = str(uuid.uuid4())
            trust = _run(job, instance, outcome.trust_run_id, todo, (start, end), log_level)
            if not trust.success:
                outcome.errors.append(
                    f"publishing around the failed checks failed (run {outcome.trust_run_id})"
                )
    return outcome


_STEP_EVENTS = {
    dg.DagsterEventType.STEP_START: "started",
    dg.DagsterEventType.STEP_SUCCESS: "done",
    dg.DagsterEventType.STEP_FAILURE: "failed",
}


class _StepWatcher:
    """Follows a run's step events in the instance's event log, from a cursor."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, total: int,
                 on_step: Callable[[str, str, int], None]) -> None:  # fmt: skip
        self.instance, self.run_id, self.total, self.on_step = instance, run_id, total, on_step
        self.cursor: str | None = None

    def poll(self) -> None:
        try:
            conn = self.instance.get_records_for_run(
                self.run_id, cursor=self.cursor, of_type=set(_STEP_EVENTS)
            )
        except Exception:  # the run is not stored yet
            return
        self.cursor = conn.cursor
        for record in conn.records:
            ev = record.event_log_entry.dagster_event
            if ev is not None:
                self.on_step(ev.step_key or "?", _STEP_EVENTS[ev.event_type], self.total)
