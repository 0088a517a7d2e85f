"""The project's configuration files, wherever productops is installed.

Run from its repository (an editable install, `make run`), they are the checkout's
`config/`, which the README tells you to edit. Installed from a wheel (`pip install .`,
a deployment image), that folder is not there: the wheel carries copies of them in
`productops/_config/` (see `[tool.hatch.build.targets.wheel.force-include]`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REPO_CONFIG = REPO / "config"


def config_file(name: str) -> Path:
    """`config/<name>` of the checkout (`dagster.yaml`: at its top level, where Dagster
    looks for it), else the copy packaged with the code."""
    for beside in (REPO_CONFIG / name, REPO / name):
        if beside.exists():
            return beside
    return Path(str(resources.files("productops") / "_config" / name))
