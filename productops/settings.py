"""Where productops keeps its files.

Everything is resolved when called, never at import time, so that tests and the
Dagster code server can point the same code at different folders through the
environment or resource config.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from productops.config_files import REPO_CONFIG, config_file
from productops.objectstore import LocalStore, S3Store, raw_lake

DATA_DIR_ENV = "PRODUCTOPS_DATA_DIR"
PII_SALT_ENV = "PRODUCTOPS_PII_SALT"
SOURCES = ("nps", "feedback", "social", "tool_usage", "licences")
MAX_FILE_MB_ENV = "PRODUCTOPS_MAX_FILE_MB"
DEFAULT_MAX_FILE_MB = 512
# The project's settings file; another one (a second deployment, the tests) by this variable.
SETTINGS_ENV = "PRODUCTOPS_SETTINGS"
SERVING_FILE_ENV = "PRODUCTOPS_SERVING_FILE"
SAMPLE_DAYS = 90  # the embedded sample company's default history


def settings_file() -> Path:
    named = os.environ.get(SETTINGS_ENV)
    if named:
        return Path(named)
    beside_code = REPO_CONFIG / "productops.toml"
    if beside_code.exists():
        return beside_code
    in_cwd = Path.cwd() / "config" / "productops.toml"
    return in_cwd if in_cwd.exists() else config_file("productops.toml")


def first_day(today: date | None = None) -> date:
    """The first day of the daily partitions: `[partitions] first_day` in the settings file.

    A date, or "sample" for the embedded company's first day (90 days ending yesterday).
    """
    path = settings_file()
    try:
        value = tomllib.loads(path.read_text())["partitions"]["first_day"]
    except FileNotFoundError:
        value = "sample"
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{path}: [partitions] first_day is missing or unreadable ({exc})"
        ) from exc
    if value == "sample":
        yesterday = (today or datetime.now(UTC).date()) - timedelta(days=1)
        return yesterday - timedelta(days=SAMPLE_DAYS - 1)
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(
            f"{path}: [partitions] first_day = {value!r} is neither a date (YYYY-MM-DD) nor "
            '"sample"'
        ) from exc


def max_landing_bytes() -> int:
    """The largest landing file productops reads: `PRODUCTOPS_MAX_FILE_MB`, else 512 MB."""
    raw = os.environ.get(MAX_FILE_MB_ENV)
    try:
        mb = float(raw) if raw else DEFAULT_MAX_FILE_MB
    except ValueError as exc:
        raise ValueError(f"{MAX_FILE_MB_ENV}={raw!r} is not a number of megabytes") from exc
    return int(mb * 1024 * 1024)


@dataclass(frozen=True)
class DataPaths:
    """The data folder's layout: landing drops, the raw lake, the warehouse."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def raw(self) -> Path:
        """The raw records' folder of a lake kept here (code reads the lake via `store`)."""
        return self.lake / "raw"

    @property
    def store(self) -> LocalStore | S3Store:
        """The raw lake's keys (`raw/`, `_manifest/`, `_people/`): `lake/`, or object storage
        when `PRODUCTOPS_RAW_LAKE` names it (`productops.objectstore`)."""
        return raw_lake(self.lake)

    @property
    def manifest(self) -> Path:
        return self.lake / "_manifest"

    @property
    def people(self) -> Path:
        """Names of the people each batch names, for redaction (never published)."""
        return self.lake / "_people"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def serving(self) -> Path:
        """The file BI reads: `PRODUCTOPS_SERVING_FILE`, else `serving.duckdb` here. Workers
        with their own data folders (the team profile) publish to one shared file."""
        shared = os.environ.get(SERVING_FILE_ENV)
        return Path(shared).resolve() if shared else self.root / "serving.duckdb"

    @property
    def reports(self) -> Path:
        """The HTML reports, one per day (`productops-<date>.html`)."""
        return self.root / "reports"

    @property
    def salt_file(self) -> Path:
        return self.root / ".pii_salt"

    def landing_dir(self, source: str) -> Path:
        return self.landing / source


def data_paths(data_dir: str | os.PathLike[str] | None = None) -> DataPaths:
    """The data folder: the argument, else `PRODUCTOPS_DATA_DIR`, else `./data`."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or "data"
    return DataPaths(Path(chosen).resolve())


def pii_salt(paths: DataPaths, configured: str | None = None) -> str:
    """The salt for hashing people: config, else `PRODUCTOPS_PII_SALT`, else a local file.

    The local default is generated once and kept in the data folder, which git
    ignores, so hashes stay stable between runs without a secret in the repo.
    """
    salt = configured or os.environ.get(PII_SALT_ENV)
    if salt:
        return salt
    if paths.salt_file.exists():
        return paths.salt_file.read_text().strip()
    paths.root.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(16)
    tmp = paths.salt_file.with_suffix(".tmp")
    tmp.write_text(salt)
    tmp.chmod(0o600)
    os.replace(tmp, paths.salt_file)
    return salt
