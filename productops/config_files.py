"""The project's configuration files, wherever productops is installed.

Run from its repository (an editable install, `make run`), they are the checkout's
`config/`, which the README tells you to edit. Installed from a wheel (`pip install .`,
a deployment image), that folder is not there: the wheel carries copies of them in
`productops/_config/` (see `[tool.hatch.build.targets.wheel.force-include]`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"


def config_file(name: str) -> Path:
    """`config/<name>` of the checkout, else the copy packaged with the code."""
    beside = REPO_CONFIG / name
    if beside.exists():
        return beside
    return Path(str(resources.files("productops") / "_config" / name))
