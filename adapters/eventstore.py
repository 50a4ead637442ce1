"""Map ``HUB_DATABASE_URL`` onto the eventsourcing library's persistence modules."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from adapters.pgrecorder import TOPIC as RECORDER_TOPIC


def persistence_env(url: str, pool_size: int = 10, connect_timeout: int = 5,
                    table_lock: bool = False) -> dict[str, str]:
    """Return the eventsourcing environment for a database URL.

    ``sqlite:///PATH`` → ``eventsourcing.sqlite`` (file created with its folder),
    ``postgresql://user:pw@host:port/db[?schema=S]`` → ``eventsourcing.postgres``,
    ``memory://`` → ``eventsourcing.popo``. Tables are created on first use.
    ``connect_timeout`` bounds the wait for a PostgreSQL connection (seconds): when the database
    is lost, requests fail fast (503) rather than hang.

    On PostgreSQL the hub's recorder (``adapters.pgrecorder``) writes without the library's
    table lock; ``table_lock=True`` keeps the library's own recorder (benchmark baselines).
    """
    parts = urlsplit(url)
    if parts.scheme == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if parts.scheme == "sqlite":
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError("sqlite URL needs a path: sqlite:///./.hub/hub.db")
        if path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": "file::memory:?cache=shared" if path == ":memory:" else path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "CREATE_TABLE": "y",
        }
    if parts.scheme in ("postgresql", "postgres"):
        query = parse_qs(parts.query)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": str(pool_size),
            "POSTGRES_CONNECT_TIMEOUT": str(connect_timeout),
            "POSTGRES_LOCK_TIMEOUT": "10",
            "CREATE_TABLE": "y",
        }
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"][0]
        if not table_lock:
            env["PROCESS_RECORDER_TOPIC"] = RECORDER_TOPIC
        return env
    raise ValueError(f"unsupported database URL scheme {parts.scheme!r}")
