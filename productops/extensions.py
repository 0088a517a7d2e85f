"""DuckDB extensions from the lock, never from the network.

DuckDB's `INSTALL` downloads from DuckDB's own server, which deployments behind a proxy
(and these machines) cannot reach. The `duckdb-extension-*` packages ship the same
binaries as wheels, pinned in `uv.lock` with DuckDB itself; this module loads them from
there by path. No library does this: the packages ship only the files.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import duckdb

# extension name -> the package that ships it
PACKAGES = {
    "httpfs": "duckdb_extension_httpfs",
    "ducklake": "duckdb_extension_ducklake",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
}


class ExtensionMissing(RuntimeError):
    """An extension's package is not installed for the running DuckDB version."""


def extension_file(name: str) -> Path:
    """The packaged binary of extension `name` for the running DuckDB."""
    package = PACKAGES[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionMissing(
            f"DuckDB extension {name!r} needs the package {package.replace('_', '-')} "
            "(it is in uv.lock: `make install`)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "extensions"
    path = folder / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        shipped = sorted(p.parent.name for p in folder.glob("v*/*.duckdb_extension"))
        raise ExtensionMissing(
            f"DuckDB {duckdb.__version__} has no packaged {name!r} extension "
            f"({package} ships {', '.join(shipped) or 'none'}): install the same version "
            "of DuckDB and the extension packages, as uv.lock pins them"
        )
    return path


# DuckDB checks an extension's signature on every LOAD, by hashing the whole file (20-40
# MB each): 50-90 ms per connection and extension, measured, some 15 s of a team run
# that opens a few hundred connections. So each file is verified once per process, on a
# connection of its own with DuckDB's default (signed only), and connections opened with
# CONFIG load the files verified so far without hashing them again. CONFIG only lets
# them load a file without a signature; only `load` issues LOAD, and only for a file
# verified here first.
CONFIG = {"allow_unsigned_extensions": True}
_verified: set[Path] = set()
_verify_lock = threading.Lock()


def _verify(path: Path) -> None:
    with _verify_lock:
        if path not in _verified:
            with duckdb.connect() as con:  # the default config: signed extensions only
                con.execute(f"LOAD '{path}'")
            _verified.add(path)


def load(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Load packaged extensions into `con`, opened with CONFIG (loading one twice is
    harmless)."""
    loaded = {
        n
        for (n,) in con.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE loaded"
        ).fetchall()
    }
    for name in names:
        if name not in loaded:
            load_file(con, extension_file(name))


def load_file(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Load the extension at `path` into `con` once DuckDB has verified its signature
    in this process (a file without a valid one is refused, whatever `con` allows)."""
    _verify(path)
    con.execute(f"LOAD '{path}'")
