"""Run the fake KIE server until Ctrl-C:

    python -m adapters.kie.fake_server --port 8089 [--upload-port 8090] [--speed 1] [--api-key K] [--files-dir D]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path

from adapters.kie.fake_server.server import FakeKieServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m adapters.kie.fake_server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089, help="api host port (createTask, recordInfo, …)")
    parser.add_argument("--upload-port", type=int, default=None, help="upload host port (default: --port + 1)")
    parser.add_argument("--speed", type=float, default=1.0, help="task speed factor (2 = twice as fast)")
    parser.add_argument("--api-key", default="test-kie-key")
    parser.add_argument("--files-dir", type=Path, default=None, help="where files live (default: a temp dir)")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    upload_port = args.upload_port if args.upload_port is not None else (args.port + 1 if args.port else 0)
    async with FakeKieServer(
        api_key=args.api_key,
        files_dir=args.files_dir,
        speed=args.speed,
        host=args.host,
        api_port=args.port,
        upload_port=upload_port,
    ) as kie:
        print(f"KIE api:    {kie.api_base_url}", flush=True)
        print(f"KIE upload: {kie.upload_base_url}", flush=True)
        print(f"API key:    {kie.api_key}  (Ctrl-C to stop)", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parse_args(argv)))


if __name__ == "__main__":
    main()
