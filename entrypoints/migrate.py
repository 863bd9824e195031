"""``python -m entrypoints.migrate``: apply the PostgreSQL migrations to DATABASE_URL and say what was applied.

DATABASE_URL comes from the environment or a ``.env`` file in the working directory (the environment wins),
like every other setting. Exit status: 0 when the schema is up to date (whether or not anything was applied),
1 when the database cannot be reached or a migration fails, 2 when DATABASE_URL is missing or malformed. Errors
are one line on stderr and never contain the password.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from adapters.storage.postgres import migrate
from entrypoints.settings import SettingsError, load_settings, read_environment
from ports.storage import StorageError


def where(dsn: str) -> str:
    """``host:port/database`` of a DSN, for messages: no user name, no password."""
    try:
        parts = urlsplit(dsn)
        if parts.scheme not in ("postgresql", "postgres"):
            return "the configured database"
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the configured database"
    return f"{host}{port}{parts.path or '/'}"


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".replace("\n", " ")


def _without(secret: str | None, text: str) -> str:
    return text.replace(secret, "***") if secret else text


def run(env: Mapping[str, str]) -> tuple[int, str]:
    """Exit status and the line to print."""
    try:
        settings = load_settings({"DATABASE_URL": env.get("DATABASE_URL", "")})  # other settings do not matter here
    except SettingsError as error:
        return 2, f"migrate: {error}"
    if settings.DATABASE_URL is None:
        return 2, "migrate: missing setting DATABASE_URL (postgresql://user:password@host:port/database)"
    dsn = settings.DATABASE_URL.get_secret_value()
    password = _password(dsn)
    try:
        applied = asyncio.run(migrate(dsn))
    except ValueError as error:
        return 2, f"migrate: invalid setting DATABASE_URL: {_without(password, _one_line(error))}"
    except (StorageError, OSError) as error:
        return 1, f"migrate: cannot migrate the database at {where(dsn)}: {_without(password, _one_line(error))}"
    if not applied:
        return 0, f"migrate: {where(dsn)} is up to date, nothing to apply"
    return 0, f"migrate: applied {len(applied)} migration(s) to {where(dsn)}: {', '.join(applied)}"


def _password(dsn: str) -> str | None:
    try:
        return urlsplit(dsn).password
    except ValueError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    del argv  # no options: everything comes from DATABASE_URL
    status, line = run(read_environment())
    print(line, file=sys.stdout if status == 0 else sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
