"""CHANGELOG.md keeps to Keep a Changelog, and its newest release is the installed version:
a release without its entry, or an entry under a version nobody bumped to, fails here."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import productops

REPO = Path(__file__).resolve().parents[1]
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$")
SECTIONS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")


def _releases() -> list[tuple[tuple[int, ...], date]]:
    lines = (REPO / "CHANGELOG.md").read_text().splitlines()
    found = []
    for line in lines:
        if line.startswith("## ") and line != "## [Unreleased]":
            m = RELEASE.match(line)
            assert m, f"CHANGELOG.md: {line!r} is not '## [X.Y.Z] - YYYY-MM-DD'"
            found.append((tuple(int(p) for p in m[1].split(".")), date.fromisoformat(m[2])))
        elif line.startswith("### "):
            assert line[4:] in SECTIONS, f"CHANGELOG.md: {line!r} is not one of {SECTIONS}"
    return found


def test_releases_are_versions_with_dates_newest_first() -> None:
    releases = _releases()
    assert releases, "CHANGELOG.md names no release"
    assert [v for v, _ in releases] == sorted({v for v, _ in releases}, reverse=True)
    days = [d for _, d in releases]
    assert days == sorted(days, reverse=True)


def test_the_newest_release_is_the_project_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    newest = ".".join(map(str, _releases()[0][0]))
    assert project == newest, f"pyproject.toml says {project}, CHANGELOG.md's newest is {newest}"
    assert productops.__version__ == project, "reinstall: make install"
    shown = subprocess.run([sys.executable, "-m", "pipelines.cli", "--version"],
                           capture_output=True, text=True)  # fmt: skip
    assert shown.stdout.strip() == f"productops {project}", shown.stderr
