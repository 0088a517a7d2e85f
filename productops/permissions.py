"""The data folder is its owner's alone: 0700 folders and 0600 files, whatever the umask.

It holds customers' words and employees' sign-ins (the raw lake keeps the originals),
so every process that writes it sets umask 077 first (`private_umask`), and a run
tightens anything already there that is open to others (`secure`), under the run lock.

The serving file is the one exception a team may make on purpose: with
`PRODUCTOPS_SERVING_MODE=0644` (or `0640` for a group) it is published with that mode,
and the data folder becomes 0711, so another account (a BI service) can open that one
file by its path but can list and read nothing else.
"""

from __future__ import annotations

import os
import stat

from productops.settings import DataPaths

SERVING_MODE_ENV = "PRODUCTOPS_SERVING_MODE"
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def private_umask() -> None:
    """New files and folders of this process are its owner's only."""
    os.umask(0o077)


def serving_mode() -> int:
    """The serving file's mode: `PRODUCTOPS_SERVING_MODE` (read bits only), else 0600."""
    raw = os.environ.get(SERVING_MODE_ENV)
    if not raw:
        return PRIVATE_FILE
    try:
        mode = int(raw, 8)
    except ValueError as exc:
        raise ValueError(f"{SERVING_MODE_ENV}={raw!r} is not an octal mode such as 0644") from exc
    if mode & ~0o644 or not mode & stat.S_IRUSR:
        raise ValueError(
            f"{SERVING_MODE_ENV}={raw}: only read access may be given to others "
            "(0600, 0640 or 0644)"
        )
    return mode


def secure(paths: DataPaths) -> int:
    """Close everything in the data folder to others; returns how many entries changed."""
    if not paths.root.exists():
        return 0
    serving, published = str(paths.serving), serving_mode()
    changed = _chmod(paths.root, PRIVATE_DIR | (0o011 if published & 0o044 else 0))
    for root, dirs, files in os.walk(paths.root, followlinks=False):
        for d in dirs:
            changed += _chmod(os.path.join(root, d), PRIVATE_DIR)
        for f in files:
            path = os.path.join(root, f)
            changed += _chmod(path, published if path == serving else PRIVATE_FILE)
    return changed


def _chmod(path: str | os.PathLike[str], mode: int) -> int:
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or stat.S_IMODE(st.st_mode) == mode:
        return 0
    os.chmod(path, mode)
    return 1
