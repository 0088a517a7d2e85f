"""Real services on loopback for the team-profile tests: a PostgreSQL cluster from
Debian's packages and moto's S3-compatible server, each in a temporary folder."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest


def stop_group(process: subprocess.Popen, timeout: float = 60) -> None:
    """Stop a server started with `start_new_session=True` and everything it started: a
    code server the Dagster webserver starts can outlive it (seen running minutes after
    a test), so the group is killed once the server has exited."""
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=timeout)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(ready: Callable[[], bool], what: str, timeout: float = 180.0) -> None:
    """Poll until `ready()` (the event), with a generous bound only against a hang."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not come up in {timeout:.0f} s")
        time.sleep(0.2)


def answers(url: str) -> Callable[[], bool]:
    """A readiness probe for `wait_for`: the URL answers an HTTP request."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            return False

    return probe


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does)")
    return Path(found[-1]).parent


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` account then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class PostgresCluster:
    """A running cluster: each test asks for a database of its own, so that tests sharing
    one cluster (one per test session) never read each other's runs and events."""

    def __init__(self, bin_dir: Path, port: int) -> None:
        self.bin_dir, self.port = bin_dir, port

    def database(self, name: str) -> dict[str, str]:
        """Create database `name`; its connection settings as the team profile names them."""
        subprocess.run([str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "productops", name], check=True)  # fmt: skip
        return {
            "PRODUCTOPS_PG_HOST": "127.0.0.1",
            "PRODUCTOPS_PG_PORT": str(self.port),
            "PRODUCTOPS_PG_USER": "productops",
            "PRODUCTOPS_PG_PASSWORD": "",
            "PRODUCTOPS_PG_DB": name,
        }


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster on a loopback port, in a temporary folder."""
    bin_dir = _pg_bin()
    # Not under pytest's temporary folder: that is root's alone, and the server runs as
    # `postgres`, which must reach its cluster.
    root = Path(tempfile.mkdtemp(prefix="productops-pg-"))
    data = root / "cluster"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
                                 "-U", "productops"]), check=True, capture_output=True)  # fmt: skip
    port = free_port()
    command = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(data),
               "-c", "listen_addresses=127.0.0.1"]  # fmt: skip
    server = subprocess.Popen(
        _as_postgres(command),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def ready() -> bool:
        return subprocess.run([str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                              capture_output=True).returncode == 0  # fmt: skip

    try:
        wait_for(ready, "PostgreSQL")
        yield PostgresCluster(bin_dir, port)
    finally:
        stop_group(server)
        shutil.rmtree(root, ignore_errors=True)


# Credentials moto accepts; real ones come from the environment the same way.
S3_KEY_ID, S3_SECRET = "productops-test-key", "productops-test-secret"


class S3Server:
    """moto's server: `env` points productops (and boto3) at it; each test creates the
    buckets it writes, so tests sharing the server (one per test session) stay apart."""

    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url, self.env = url, env

    def bucket(self, name: str) -> str:
        import boto3

        client = boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                              aws_access_key_id=S3_KEY_ID, aws_secret_access_key=S3_SECRET)  # fmt: skip
        client.create_bucket(Bucket=name)
        return name


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's S3-compatible server on a loopback port."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    env = {
        "PRODUCTOPS_S3_ENDPOINT": f"127.0.0.1:{port}",
        "PRODUCTOPS_S3_USE_SSL": "false",
        "PRODUCTOPS_S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": S3_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
    }
    try:
        wait_for(answers(f"{url}/moto-api/"), "the S3 server (moto)")
        yield S3Server(url, env)
    finally:
        stop_group(server)
