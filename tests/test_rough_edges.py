"""The edges a new user meets first: a busy port, a second UI, make help, a wrong --select."""

from __future__ import annotations

import fcntl
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
PRODUCTOPS = str(Path(sys.executable).parent / "productops")


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"),
            "PRODUCTOPS_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}  # fmt: skip


def test_the_ui_on_a_busy_port_exits_naming_the_port_and_the_way_out(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([PRODUCTOPS, "ui", "--port", str(port)], env=_env(tmp_path),
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert f"Port {port}" in done.stdout and "UI_PORT=" in done.stdout, done.stdout


def test_a_second_ui_on_the_same_instance_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    fd = os.open(home / ".ui.lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"pid 1, port 3000")
    fcntl.flock(fd, fcntl.LOCK_EX)  # the first UI
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        done = subprocess.run([PRODUCTOPS, "ui", "--port", str(port)], env=_env(tmp_path),
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    finally:
        os.close(fd)
    assert done.returncode == 2
    assert "already running (pid 1, port 3000)" in done.stdout, done.stdout


def test_the_team_profile_without_its_settings_names_them_not_a_traceback(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in _env(tmp_path).items() if not k.startswith("PRODUCTOPS_PG_")}
    env["PRODUCTOPS_PROFILE"] = "team"
    done = subprocess.run([PRODUCTOPS, "ui", "--port", "3999"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-2000:]
    assert "not set: PRODUCTOPS_PG_DB, PRODUCTOPS_PG_HOST" in done.stdout, done.stdout


def test_make_help_lists_every_declared_target_and_each_has_a_rule() -> None:
    makefile = (REPO / "Makefile").read_text()
    declared = re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split()
    rules = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    assert set(declared) <= rules, set(declared) - rules
    shown = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout  # fmt: skip
    for target in declared:
        assert f"make {target}" in shown, target


@pytest.mark.slow
def test_an_unknown_selection_lists_the_assets_and_groups(tmp_path: Path) -> None:
    done = subprocess.run([PRODUCTOPS, "run", "--select", "staging/nope"], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2
    out = " ".join(done.stdout.split())
    assert "matches no asset" in out and "staging/nps_responses" in out and "group:marts" in out
