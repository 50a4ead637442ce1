"""Shared fixtures: PostgreSQL (never skipped), per-test stores on SQLite, PostgreSQL, memory."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from hub.bootstrap import bootstrap
from hub.scheduling.service import Scheduling
from hub.settings import Settings

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL server: ``HUB_TEST_DATABASE_URL``, else a throwaway one started here."""
    url = os.environ.get("HUB_TEST_DATABASE_URL", DEFAULT_PG)
    if _reachable(url):
        yield url
        return
    pg_ctl = shutil.which("pg_ctl") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))), None)
    if pg_ctl is None:
        pytest.fail(
            f"PostgreSQL is unreachable at {url} and no pg_ctl was found to start a throwaway "
            "server: start PostgreSQL or set HUB_TEST_DATABASE_URL",
            pytrace=False,
        )
    from pytest_postgresql.executors.proc import PostgreSQLExecutor

    tmp = tempfile.mkdtemp(prefix="hub-pg-")
    port = _free_port()
    executor = PostgreSQLExecutor(
        executable=pg_ctl, host="127.0.0.1", port=port, datadir=f"{tmp}/data",
        unixsocketdir=tmp, logfile=f"{tmp}/pg.log", startparams="-w", dbname="test",
    )
    try:
        executor.start()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"could not start a throwaway PostgreSQL with {pg_ctl}: {exc}", pytrace=False)
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as c:
        c.execute("CREATE DATABASE test")
    yield f"postgresql://postgres@127.0.0.1:{port}/test"
    executor.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards (``?schema=`` in the URL)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    parts = urlsplit(pg_url)
    yield urlunsplit(parts._replace(query=f"schema={schema}"))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/hub.db"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """The same test body on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_schema_url")


def make_app(url: str, **kwargs) -> Scheduling:
    settings = Settings(database_url=url, **kwargs)
    return bootstrap(settings, configure_logs=False)


@pytest.fixture
def app(store_url: str) -> Iterator[Scheduling]:
    application = make_app(store_url)
    yield application
    application.close()


@pytest.fixture
def memory_app() -> Iterator[Scheduling]:
    application = make_app("memory://")
    yield application
    application.close()


ADDRESS = {"street": "1 rue Principale", "city": "Québec", "province": "QC", "postal_code": "G1A 1A1"}


def future(hours: float = 72) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)


def patient(n: int = 1, **extra: object) -> dict[str, object]:
    """A valid patient with a unique NAM per ``n``."""
    q = n // 100
    letters = "".join(chr(65 + (q // 26**i) % 26) for i in range(4))
    return {"nam": f"{letters}850101{n % 100:02d}", "first_name": "Pat", "last_name": f"Ient{n}",
            "birth_date": "1985-01-01", "email": f"p{n}@example.ca", "language": "fr", **extra}


class Setup:
    """A clinic with a GP, an in-person service, a vaccine service and one slot."""

    def __init__(self, app: Scheduling, application_type: str = "public_health", capacity: int = 10,
                 locked: bool = False, online: bool = True) -> None:
        self.app = app
        self.clinic = app.register_clinic("Clinique Test", ADDRESS, "418-555-0000", application_type).id
        self.gp = app.add_professional(self.clinic, "Dre Test", "gp").id
        self.consult = app.add_service(self.clinic, "Consultation", 15, "in_person", online, 24).id
        self.vaccine = app.add_service(self.clinic, "Vaccin", 10, "in_person", online, 12, "Pfizer").id
        self.slot = self.open_slot(capacity=capacity, locked=locked)

    def open_slot(self, capacity: int = 10, locked: bool = False, hours: float = 72,
                  products: list[str] | None = None) -> uuid.UUID:
        start = future(hours)
        return self.app.open_slot(
            self.clinic, self.gp, start, start + timedelta(minutes=30), capacity,
            [self.consult, self.vaccine], ["Pfizer"] if products is None else products, locked,
        ).id


@pytest.fixture
def setup(app: Scheduling) -> Setup:
    return Setup(app)
