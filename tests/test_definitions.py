"""The code location loads, and every asset carries what the UI and its owners need."""

from __future__ import annotations

import dagster as dg

from pipelines.definitions import current_definitions


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(current_definitions())
    assert current_definitions().resolve_job_def("daily_refresh") is not None


def test_every_asset_has_description_group_owner_and_kind() -> None:
    graph = current_definitions().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        assert node.description and len(node.description) > 40, name
        assert node.group_name in {"raw", "staging", "marts", "serving", "quality"}, name
        assert node.owners, name
        assert node.kinds, name
        assert key.path[0] == node.group_name, f"{name}: key should mirror its layer"


def test_layers_only_read_the_layer_below() -> None:
    graph = current_definitions().resolve_asset_graph()
    order = ["raw", "staging", "marts", "serving"]
    for key in graph.get_all_asset_keys():
        layer = order.index(key.path[0])
        for parent in graph.get(key).parent_keys:
            assert order.index(parent.path[0]) in (layer - 1, layer), f"{key} reads {parent}"


def test_dagster_validates_the_code_location_from_the_root_without_flags(tmp_path) -> None:
    """`[tool.dagster]` names the code location, and `dagster.yaml` is where Dagster looks:
    a Dagster engineer's first command works as in any Dagster project."""
    import os
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "PRODUCTOPS_"))}
    done = subprocess.run(
        [str(repo / ".venv" / "bin" / "dagster"), "definitions", "validate"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Validation successful for code location productops" in done.stdout + done.stderr


def test_the_checkout_is_the_dagster_home_where_its_config_is(tmp_path, monkeypatch) -> None:
    """With DAGSTER_HOME unset, the CLI uses the folder holding dagster.yaml, so `dagster
    dev` never finds a config that is not its home's (Dagster's warning)."""
    from pipelines.runner import ensure_dagster_home

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("PRODUCTOPS_PROFILE", raising=False)
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.chdir(tmp_path)
    assert ensure_dagster_home() == tmp_path
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.delenv("DAGSTER_HOME")
    monkeypatch.chdir(elsewhere)
    home = ensure_dagster_home()
    assert home == elsewhere / ".dagster_home" and (home / "dagster.yaml").is_file()
