"""Session fixtures for the engine tests: a throwaway PostgreSQL cluster and a local Spark session.

Both stay on the loopback interface. They skip (with the reason) only where the software is absent:
PostgreSQL's ``initdb``/``pg_ctl`` not on PATH, or Java / pyspark missing.
Import the fixtures into a test module with ``from engines_fixtures import postgres_server``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

PG_PASSWORD = "s3cret-Pa55word"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    dbname: str = "postgres"

    def url(self, *, password: str | None = None, port: int | None = None) -> str:
        pw = self.password if password is None else password
        return f"postgresql://{self.user}:{pw}@{self.host}:{port or self.port}/{self.dbname}"


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _find_pg_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for base in ("/usr/lib/postgresql",):  # Debian layout: /usr/lib/postgresql/<v>/bin
        if os.path.isdir(base):
            for version in sorted(os.listdir(base), reverse=True):
                candidate = os.path.join(base, version, "bin", name)
                if os.path.exists(candidate):
                    return candidate
    return None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start a PostgreSQL cluster on 127.0.0.1 and a free port (as ``postgres`` when run as root)."""
    initdb, pg_ctl = _find_pg_binary("initdb"), _find_pg_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) are not on this machine: a system package, not a "
            "pip dependency (e.g. apt-get install postgresql); the PostgreSQL engine tests need a live server"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("psycopg is missing although the dev extra declares it: pip install -e '.[dev]'")
    base = tempfile.mkdtemp(prefix="abkit-pg-")
    prefix: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip(
                "running as root without runuser (util-linux): PostgreSQL refuses to run as root, so no "
                "server can be started here"
            )
        import pwd

        pg_user = pwd.getpwnam("postgres")
        os.chown(base, pg_user.pw_uid, pg_user.pw_gid)
        prefix = [runuser, "-u", "postgres", "--"]
    os.chmod(base, 0o700)
    data = os.path.join(base, "data")
    pwfile = os.path.join(base, "pw")
    with open(pwfile, "w") as fh:
        fh.write(PG_PASSWORD + "\n")
    if prefix:
        import pwd

        pg_user = pwd.getpwnam("postgres")
        os.chown(pwfile, pg_user.pw_uid, pg_user.pw_gid)
    user = "abkit"
    subprocess.run(
        [
            *prefix,
            initdb,
            "-D",
            data,
            "-U",
            user,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    log = os.path.join(base, "log")
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    started = subprocess.run(
        [*prefix, pg_ctl, "-D", data, "-o", opts, "-l", log, "-w", "-t", "60", "start"],
        capture_output=True,
        text=True,
    )
    if started.returncode != 0:
        with contextlib.suppress(OSError), open(log) as fh:
            tail = fh.read()[-2000:]
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{tail}")
    try:
        yield PostgresServer("127.0.0.1", port, user, PG_PASSWORD)
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def spark_session() -> Iterator[object]:
    """A local-mode Spark session on the loopback interface, UI off, 2 shuffle partitions."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip(
            "Java is not on this machine (no java on PATH, no JAVA_HOME): a system package Spark needs, not "
            "a pip dependency (e.g. apt-get install default-jre-headless)"
        )
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail("pyspark is missing although the dev extra declares it: pip install -e '.[dev]'")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    import warnings

    with warnings.catch_warnings():  # PySpark warns that it does not fully support pandas 3; abkit's
        # Spark path never converts to or from pandas
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support", category=FutureWarning
        )
        from pyspark.sql import SparkSession

    t0 = time.perf_counter()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("abkit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark._abkit_startup_seconds = time.perf_counter() - t0  # type: ignore[attr-defined]
    try:
        yield spark
    finally:
        spark.stop()
