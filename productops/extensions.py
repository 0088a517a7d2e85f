"""DuckDB extensions from the lock, never from the network.

DuckDB's `INSTALL` downloads from DuckDB's own server, which deployments behind a proxy
(and these machines) cannot reach. The `duckdb-extension-*` packages ship the same
binaries as wheels, pinned in `uv.lock` with DuckDB itself; this module loads them from
there by path. No library does this: the packages ship only the files.
"""

from __future__ import annotations

import importlib.util
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


def load(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Load packaged extensions into `con` (loading one twice is harmless)."""
    loaded = {
        n
        for (n,) in con.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE loaded"
        ).fetchall()
    }
    for name in names:
        if name not in loaded:
            con.execute(f"LOAD '{extension_file(name)}'")
