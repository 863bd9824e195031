"""The ``storage`` fixture: every contract test runs once per implementation in STORAGE_IMPLEMENTATIONS.

To add one (e.g. PostgreSQL), append ``("postgres", open_postgres)`` where ``open_postgres(tmp_path)`` is
an async context manager yielding a fresh, empty Storage and cleaning up after it (it may call
``pytest.skip`` when its server is not configured).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from adapters.storage.json_storage import JsonStorage
from ports.storage import Storage
from tests.pg import open_pg

StorageFactory = Callable[[Path], AbstractAsyncContextManager[Storage]]


@asynccontextmanager
async def open_json(tmp_path: Path) -> AsyncIterator[Storage]:
    storage = await JsonStorage.open(tmp_path / "json-storage")
    try:
        yield storage
    finally:
        await storage.close()


STORAGE_IMPLEMENTATIONS: list[tuple[str, StorageFactory]] = [
    ("json", open_json),
    ("postgres", open_pg),  # tests/pg.py: a throwaway database on the test server, emptied per test
]


@pytest.fixture(
    params=[factory for _, factory in STORAGE_IMPLEMENTATIONS],
    ids=[name for name, _ in STORAGE_IMPLEMENTATIONS],
)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    async with request.param(tmp_path) as opened:
        yield opened
