"""The data folder is its owner's alone, whatever the umask; serving opens only on purpose."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from pipelines.runner import materialise
from productops.permissions import serving_mode
from productops.sample import write_sample

pytestmark = pytest.mark.slow
END = date(2026, 4, 30)


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for p in root.rglob("*"):
        if not p.is_symlink():
            found[str(p.relative_to(root))] = stat.S_IMODE(p.stat().st_mode)
    return found


def test_everything_written_is_owner_only_and_serving_opens_on_purpose(
    paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = os.umask(0o022)  # a permissive umask, and landing files dropped as 0644
    try:
        write_sample(paths, seed=61, scale=0.05, days=14, end=END)
        assert modes(paths.root)["landing"] == 0o755
        with dg.DagsterInstance.ephemeral() as instance:
            assert materialise(date(2026, 4, 17), END, instance=instance).success
        found = modes(paths.root)
        assert len(found) > 50
        open_to_others = {p: oct(m) for p, m in found.items() if m & 0o077}
        assert open_to_others == {}
        assert found["warehouse.duckdb"] == 0o600 and found["serving.duckdb"] == 0o600
        assert found["."] == 0o700

        monkeypatch.setenv("PRODUCTOPS_SERVING_MODE", "0644")
        with dg.DagsterInstance.ephemeral() as instance:
            assert materialise(END, END, instance=instance, select=["group:serving"]).success
        found = modes(paths.root)
        assert found["serving.duckdb"] == 0o644 and found["."] == 0o711
        assert found["warehouse.duckdb"] == 0o600 and found["lake"] == 0o700
    finally:
        os.umask(old)


@pytest.mark.parametrize("mode", ["0666", "0755", "rw", "0200"])
def test_the_serving_mode_may_only_give_read_access(mode: str, monkeypatch) -> None:
    monkeypatch.setenv("PRODUCTOPS_SERVING_MODE", mode)
    with pytest.raises(ValueError, match="PRODUCTOPS_SERVING_MODE"):
        serving_mode()
