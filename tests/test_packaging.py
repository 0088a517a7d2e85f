"""A non-editable install (what a deployment image does) gives a working `productops`:
the wheel is built, installed into a fresh virtualenv with the locked dependencies, and
runs the sample company from a folder that is not the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def _uv() -> str:
    found = REPO / ".tools" / "bin" / "uv"
    return str(found) if found.exists() else (shutil.which("uv") or pytest.fail("uv not found"))


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PRODUCTOPS_", "DAGSTER_", "PYTHONPATH", "VIRTUAL_ENV", "UV_"))}  # fmt: skip
    dist = tmp_path / "dist"
    _run([_uv(), "build", "--wheel", "--out-dir", str(dist), str(REPO)], REPO, env)
    (wheel,) = dist.glob("productops-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ("themes.toml", "productops.toml", "dagster.yaml"):
        assert f"productops/_config/{data}" in names

    venv = tmp_path / "venv"
    _run([_uv(), "venv", "--python", sys.executable, str(venv)], tmp_path, env)
    locked = tmp_path / "constraints.txt"
    locked.write_text(_run([_uv(), "export", "--frozen", "--no-dev", "--no-hashes",
                            "--no-emit-project"], REPO, env))  # fmt: skip
    python = str(venv / "bin" / "python")
    _run(
        [_uv(), "pip", "install", "--python", python, "-c", str(locked), str(wheel)], tmp_path, env
    )

    work = tmp_path / "elsewhere"
    work.mkdir()
    env["PRODUCTOPS_DATA_DIR"] = str(work / "data")
    cli = str(venv / "bin" / "productops")
    end = datetime.now(UTC).date() - timedelta(days=1)
    _run([cli, "sample", "--scale", "0.05", "--days", "14"], work, env)
    _run([cli, "run", "--start", str(end - timedelta(days=13))], work, env)
    assert (work / ".dagster_home" / "dagster.yaml").resolve().is_relative_to(venv)
    with duckdb.connect(str(work / "data" / "serving.duckdb"), read_only=True) as con:
        themed = con.execute(
            "SELECT count(*) FROM marts.nps_comments WHERE themes <> ['other']"
        ).fetchall()[0][0]
    assert themed > 0  # the packaged taxonomy classified the comments
