"""Issue 16 item 4: time from launch to delivery for each KIE family, through the whole bot (fake Bot API, aiohttp
routes, KieHttpGateway, the default job runner: first poll after 2.5 s, ×1.5 up to 30 s) against the fake KIE
server. Every family is launched at once (one user each), then Veo's 1080p follow-up on the delivered Veo video.

    python bench/family_latency.py                 # speed 1: the fake's durations as they are (~1 min)
    python bench/family_latency.py --speed 4       # 4× faster fake; the table also shows seconds × speed
    python bench/family_latency.py --no-callbacks  # polling alone (no public callback URL reaches the bot)

The fake's task durations at speed 1 (adapters/kie/fake.py, fake_families.py): image 4 s, video 8 s, Suno 45 s,
Veo 1080p 20 s. The measured time adds the polling schedule (or the callback), the HTTP calls and the delivery.
Only loopback is used; the data lives in a temporary folder (JSON storage).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.kie.fake_media import png_bytes, sample_video_bytes  # noqa: E402
from adapters.kie.fake_server import FakeKieServer  # noqa: E402
from core.job_runner import RunnerSettings  # noqa: E402
from entrypoints.fake_stack import running_server  # noqa: E402
from entrypoints.smoke_checks import callback_update, message_update  # noqa: E402
from ports.storage import JobState  # noqa: E402

FAMILIES = [  # (label, catalog id, files, prompt)
    ("Veo 3.1 Fast, text", "veo/veo3_fast", (), "a fox in the snow"),
    ("Veo 3.1 Quality, 2 frames", "veo/veo3", ("photo", "photo"), "a fox in the snow"),
    ("Runway", "runway/gen4", (), "a fox in the snow"),
    ("Runway Aleph (video edit)", "aleph/aleph", ("video",), "make it winter"),
    ("Flux Kontext Pro (photo edit)", "kontext/flux-kontext-pro", ("photo",), "make it winter"),
    ("4o Image", "gpt4o/4o-image", (), "a fox in the snow"),
    ("Suno V5.5 (2 tracks)", "suno/V5_5", (), "a song about rain"),
    ("Market: Z-Image (for comparison)", "z-image", (), "a fox in the snow"),
]
FIRST_USER = 7000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def last_buttons(client, user: int) -> tuple[int, list[tuple[str, str]]]:
    message = client.last_with_buttons(user)
    return message.message_id, [(label, data) for row in message.buttons for label, data in row]


async def press(client, user: int, part: str) -> None:
    message_id, buttons = last_buttons(client, user)
    data = next(data for label, data in buttons if part in label)
    await client.post_update(callback_update(user, data, message_id))


async def send_file(client, user: int, kind: str, index: int) -> None:
    file_id = f"u{user}-{kind}-{index}"
    update = message_update(user, "")
    update["message"].pop("text")
    if kind == "photo":
        client.api.add_file(file_id, png_bytes(f"{user} {index}"))
        update["message"]["photo"] = [{"file_id": file_id, "file_unique_id": file_id, "width": 256, "height": 256}]
    else:
        client.api.add_file(file_id, sample_video_bytes())
        update["message"]["video"] = {"file_id": file_id, "file_unique_id": file_id, "width": 320, "height": 240,
                                      "duration": 2, "mime_type": "video/mp4"}
    await client.post_update(update)
    await client.settle()


async def prepare(client, user: int, model_id: str, files: tuple[str, ...], prompt: str) -> None:
    """Up to the confirmation screen (no job runs yet, so settle() is quick)."""
    await client.say(user, "/start")
    message_id, _ = last_buttons(client, user)
    await client.post_update(callback_update(user, f"model:{model_id}", message_id))
    await client.settle()
    for index, kind in enumerate(files):
        await send_file(client, user, kind, index)
    await client.say(user, prompt)


async def delivered(client, user: int, count: int, timeout: float) -> list:
    storage = client.server.app.storage
    async with asyncio.timeout(timeout):
        while True:
            jobs = await storage.jobs.for_user(user, 10, 0)
            done = [job for job in jobs if job.state in (JobState.DELIVERED, JobState.REFUNDED)]
            if len(done) >= count:
                return sorted(done, key=lambda job: job.created_at)
            await asyncio.sleep(0.1)


def seconds(job) -> float:
    return (job.updated_at - job.created_at).total_seconds()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--no-callbacks", action="store_true")
    args = parser.parse_args()
    users = {FIRST_USER + index: family for index, family in enumerate(FAMILIES)}
    with tempfile.TemporaryDirectory() as folder:
        async with FakeKieServer(speed=args.speed) as kie:
            port = free_port()
            env = {"BOT_MODE": "polling", "PORT": str(port), "WEBHOOK_BASE_URL": f"http://127.0.0.1:{port}",
                   "KIE_API_KEY": "test-kie-key", "WELCOME_BALANCE": "5000",
                   "KIE_API_BASE_URL": kie.api_base_url, "KIE_UPLOAD_BASE_URL": kie.upload_base_url,
                   "KIE_CALLBACK_TOKEN": "bench_token_1"}
            if args.no_callbacks:
                kie.set_callback_mode("never")
            async with running_server(Path(folder), RunnerSettings(), **env) as client:
                for user, (_, model_id, files, prompt) in users.items():
                    await prepare(client, user, model_id, files, prompt)
                started = time.perf_counter()
                for user in users:
                    await press(client, user, "Запустить")
                results = {user: (await delivered(client, user, 1, 600))[0] for user in users}
                veo_user = FIRST_USER
                await press(client, veo_user, "1080p")
                async with asyncio.timeout(30):
                    while "Запустить" not in "".join(label for label, _ in last_buttons(client, veo_user)[1]):
                        await asyncio.sleep(0.05)
                await press(client, veo_user, "Запустить")
                hd = (await delivered(client, veo_user, 2, 600))[-1]
                wall = time.perf_counter() - started
    mode = "polling only" if args.no_callbacks else "callbacks + polling"
    print(f"speed {args.speed:g}, {mode}; all launched together; wall {wall:.1f} s\n")
    print(f"| family | state | launch → delivered, s | × speed (s at speed 1) |")
    print("|---|---|---|---|")
    rows = [(label, results[user]) for user, (label, *_) in users.items()] + [("Veo 3.1 → 1080p (follow-up)", hd)]
    for label, job in rows:
        print(f"| {label} | {job.state.value} | {seconds(job):.1f} | {seconds(job) * args.speed:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
