"""The import graph follows the data's flow: the library (productops/) at the bottom, then
resources/, assets/, and pipelines/ (the code location and what runs it) on top. No
module imports one above it, no two modules import each other through any path, and
importing a module reads neither the environment nor a file: settings are read when
the definitions are built (`pipelines.definitions.load_options`)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("productops", "resources", "assets", "pipelines")  # bottom to top


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, at the top or inside a function."""
    graph: dict[str, set[str]] = {}
    for layer in LAYERS:
        for path in (REPO / layer).rglob("*.py"):
            edges = graph.setdefault(_module_name(path), set())
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    if node.module.split(".")[0] not in LAYERS:
                        continue
                    subs = [f"{node.module}.{a.name}" for a in node.names]
                    found = [s for s in subs if _is_module(s)]
                    # `from pkg import sub` imports sub; `from pkg import name`, pkg itself
                    edges |= set(found) | ({node.module} if len(found) < len(subs) else set())
                elif isinstance(node, ast.Import):
                    edges |= {a.name for a in node.names if a.name.split(".")[0] in LAYERS}
    return graph


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if LAYERS.index(target.split(".")[0]) > LAYERS.index(module.split(".")[0])
    ]
    assert not upward, upward


def test_there_is_no_import_cycle() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, [" -> ".join(c) for c in cycles]


def test_the_graph_sees_upward_imports_and_cycles() -> None:
    """The two tests above would catch what they guard against (the real graph once had
    both: assets importing pipelines' partitions, sql and objectstore importing each other)."""
    graph = _graph()
    assert "productops.quoting" in graph["productops.sql"] | graph["productops.objectstore"]
    assert "assets.options" in graph["pipelines.definitions"]


# Imports every module with a record of what it opens and which settings it reads.
PROGRAM = """
import collections.abc, os, sys, traceback
repo, modules = sys.argv[1], sys.argv[2:]
read = []

def ours():
    return [f for f in traceback.extract_stack() if f.filename.startswith(repo)
            and "/.venv/" not in f.filename]

class Environ(collections.abc.MutableMapping):
    def __init__(self, env): self.env = env
    def _note(self, key):
        # The code that asked: a library copying the whole environment reads no setting.
        callers = [f for f in traceback.extract_stack()[:-2]
                   if f.filename != "<string>" and not f.filename.endswith("_collections_abc.py")]
        caller = callers[-1]
        if str(key).startswith(("PRODUCTOPS_", "DAGSTER_HOME")) and caller in ours():
            read.append(f"${key} at {caller.filename}:{caller.lineno}")
    def __getitem__(self, key): self._note(key); return self.env[key]
    def get(self, key, default=None): self._note(key); return self.env.get(key, default)
    def __setitem__(self, key, value): self.env[key] = value
    def __delitem__(self, key): del self.env[key]
    def __iter__(self): return iter(self.env)
    def items(self): return self.env.items()  # a copy of the whole environment reads no setting
    def values(self): return self.env.values()
    def copy(self): return self.env.copy()
    def __len__(self): return len(self.env)

def opened(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].startswith(repo):
        name = args[0][len(repo):]
        if "/.venv/" not in name and not name.endswith((".py", ".pyc")) and ours():
            read.append(f"{name} at {ours()[-1].filename}:{ours()[-1].lineno}")

os.environ = Environ(os.environ)
sys.addaudithook(opened)
import importlib
for module in modules:
    importlib.import_module(module)
print("\\n".join(read))
"""


def test_importing_a_module_reads_no_setting_and_no_file() -> None:
    modules = sorted(_graph())
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(REPO), *modules],
        capture_output=True, text=True, cwd=REPO, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "", done.stdout
