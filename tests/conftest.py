"""Shared fixtures: PostgreSQL (never skipped), per-test stores on SQLite, PostgreSQL, memory."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from hub.scheduling.service import Scheduling
from tests.support.scheduling import DEFAULT_PG, Setup, free_port, make_app, reachable


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL server: ``HUB_TEST_DATABASE_URL``, else a throwaway one started here."""
    url = os.environ.get("HUB_TEST_DATABASE_URL", DEFAULT_PG)
    if reachable(url):
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
    port = free_port()
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










@pytest.fixture
def setup(app: Scheduling) -> Setup:
    return Setup(app)
