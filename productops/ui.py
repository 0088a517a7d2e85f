"""`productops ui`: the Dagster UI and daemon, started only when they can start cleanly.

`dagster dev` on a port that is taken prints an error and keeps running, and its daemon
then fights the one already serving the same Dagster home. So the port is tried first,
and a lock in the Dagster home (held by the `dagster dev` process itself, across `exec`)
keeps a second UI off the same instance.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import socket
import sys
from pathlib import Path

# `dagster dev` is marked superseded by the `dg` CLI, which this project does not install.
_QUIET = "ignore:Function `dev_command` is superseded"


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def launch(home: Path, host: str, port: int) -> str:
    """Replace this process with `dagster dev`; returns a message only when it cannot."""
    if port_in_use(host, port):
        return (
            f"Port {port} on {host} is already in use (another UI, or another program). "
            f"Choose another port: make ui UI_PORT={port + 1}"
        )
    fd = os.open(home / ".ui.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        return (
            f"A Dagster UI for {home} is already running ({holder}); two would run two "
            "daemons on one instance. Stop it first (Ctrl-C in its terminal)."
        )
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}, port {port}".encode(), 0)
    os.set_inheritable(fd, True)  # held by dagster dev until it exits
    dagster = shutil.which("dagster") or str(Path(sys.executable).parent / "dagster")
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONWARNINGS": _QUIET}
    args = [dagster, "dev", "-m", "pipelines.definitions", "-h", host, "-p", str(port)]
    os.execve(dagster, args, env)
    return ""  # not reached
