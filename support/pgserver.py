"""A real PostgreSQL server for the tests: a throwaway cluster in a temporary folder.

Debian's PostgreSQL (15 here; the newest version installed; `make test` installs it).
`initdb` and `pg_ctl` refuse to run as root, and CI runs as root: then the folder belongs
to `postgres` and both run through `runuser`. The server listens on a Unix socket in its
folder and on a free loopback port, with fsync off (a test cluster need not survive a power
cut). Every role logs in without a password (trust) except `PASSWORD_ROLE`, which must give
`PASSWORD` (for the fault tests).
The cluster is stopped and its folder removed when the run ends, also when interrupted.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from contextlib import suppress
from itertools import count
from pathlib import Path

from support.servers import free_port


def _newest_bin() -> Path:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda initdb: (
            int(initdb.parent.parent.name) if initdb.parent.parent.name.isdigit() else 0
        ),
    )
    return versions[-1].parent if versions else Path("/usr/lib/postgresql/15/bin")


BIN = _newest_bin()
PASSWORD_ROLE = "news_pw"
PASSWORD = "right-password"
_HBA = f"""\
local all all trust
host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
"""


def available() -> bool:
    """Whether PostgreSQL's server programs are installed."""
    return (BIN / "initdb").exists() and (BIN / "pg_ctl").exists()


class PgServer:
    """One running cluster; `fresh_url()` makes an empty database in it and names it."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="news-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._names = count(1)
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        (self.data / "pg_hba.conf").write_text(_HBA)
        self.start()
        atexit.register(self.remove)  # a run stopped by Ctrl-C or an error ends here too
        self.sql(f"CREATE ROLE {PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")

    def _run(self, *argv: object) -> subprocess.CompletedProcess[str]:
        command = [str(arg) for arg in argv]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        """Start the server (again); returns once it accepts connections."""
        options = (
            f"-k {self.folder} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._run(BIN / "pg_ctl", "-D", self.data, "-w", "-l", self.folder / "log",
                  "-o", options, "start")  # fmt: skip

    def stop(self) -> None:
        """Stop the server: clients are cut off at once, what was committed stays."""
        self._run(BIN / "pg_ctl", "-D", self.data, "-w", "-m", "fast", "stop")

    def url(self, database: str = "postgres", user: str = "postgres", password: str = "") -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str) -> None:
        """Run one statement as the superuser, outside a transaction."""
        import psycopg  # only the PostgreSQL tests need it

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(statement)

    def fresh_url(self) -> str:
        """The address of a new, empty database of its own."""
        name = f"news_{os.getpid()}_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop the database of `url`, whoever is still connected to it."""
        self.sql(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def remove(self) -> None:
        """Stop the server and remove its folder (safe to call twice)."""
        if not self.folder.exists():
            return
        with suppress(subprocess.CalledProcessError):  # already stopped
            self._run(BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
