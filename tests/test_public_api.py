"""productops stands on its dependencies' public API only: no import from a private
module (`dagster._core`, any `pkg._x`), no event list of Dagster's appended to by hand,
no dependency function replaced at import. An upgrade then breaks nothing it reached."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("productops", "assets", "pipelines", "resources")
OURS = {"productops", "assets", "pipelines", "resources", "bench", "tests"}


def _modules() -> list[Path]:
    return [p for folder in FOLDERS for p in (REPO / folder).rglob("*.py")]


def test_no_private_import_of_a_dependency() -> None:
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                top, *rest = name.split(".")
                if top not in OURS and any(part.startswith("_") for part in rest):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} {name}")
    assert not found, found


def test_no_private_attribute_of_a_dagster_object_and_no_patched_module() -> None:
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            # context.op_execution_context._events, instance._run_storage, ...
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not (node.attr.startswith("__") and node.attr.endswith("__"))
            ):
                base = ast.unparse(node.value)
                if "context" in base or "instance" in base or base.startswith(("dg", "dagster")):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} {ast.unparse(node)}")
            # a dependency's function replaced: `module.name = ...` on an imported module
            patched = [
                t for t in getattr(node, "targets", [])
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                and t.value.id in {"dagster", "dg", "duckdb", "polars", "pl"}
            ]  # fmt: skip
            found += [f"{path.relative_to(REPO)}:{node.lineno} patches" for _ in patched]
    assert not found, found
