"""The code location loads, and every asset carries what the UI and its owners need."""

from __future__ import annotations

import dagster as dg

from pipelines.definitions import defs


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("daily_refresh") is not None


def test_every_asset_has_description_group_owner_and_kind() -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        assert node.description and len(node.description) > 40, name
        assert node.group_name in {"raw", "staging", "marts", "serving", "quality"}, name
        assert node.owners, name
        assert node.kinds, name
        assert key.path[0] == node.group_name, f"{name}: key should mirror its layer"


def test_layers_only_read_the_layer_below() -> None:
    graph = defs.resolve_asset_graph()
    order = ["raw", "staging", "marts", "serving"]
    for key in graph.get_all_asset_keys():
        layer = order.index(key.path[0])
        for parent in graph.get(key).parent_keys:
            assert order.index(parent.path[0]) in (layer - 1, layer), f"{key} reads {parent}"
