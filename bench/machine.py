"""The machine the numbers come from, for BENCHMARKS.md: cores, CPU, RAM, Python, PostgreSQL, and the disk's
fsync latency (both storages wait for one before a webhook is acknowledged: the JSON inbox fsyncs its file and
directory, PostgreSQL its WAL on commit).

    python bench/machine.py [--fsyncs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Summary, machine, server_version  # noqa: E402
from tests.pg import LOCAL_SERVER  # noqa: E402


def fsync_ms(count: int) -> Summary:
    times = []
    with tempfile.TemporaryDirectory(prefix="trt-fsync-") as directory:
        path = Path(directory) / "probe"
        with open(path, "wb") as handle:
            for _ in range(count):
                handle.write(os.urandom(4096))
                handle.flush()
                started = time.perf_counter()
                os.fsync(handle.fileno())
                times.append((time.perf_counter() - started) * 1000)
    return Summary.of(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fsyncs", type=int, default=200)
    args = parser.parse_args(argv)
    for key, value in machine().items():
        print(f"{key}: {value}")
    dsn = os.environ.get("TEST_DATABASE_URL", LOCAL_SERVER)
    try:
        print(f"postgresql: {asyncio.run(server_version(dsn))}")
    except Exception as error:  # no server: say so, the rest still counts
        print(f"postgresql: not reachable ({type(error).__name__})")
    print(f"fsync of a 4 KiB append in {tempfile.gettempdir()}: {fsync_ms(args.fsyncs).line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
