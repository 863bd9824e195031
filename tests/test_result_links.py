"""Result links are never trusted (issue 13.2): the bot reads no local file and fetches no internal address
because a generator answer said so; other schemes fail the job with a refund."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import telegram
from aiohttp import web

from adapters.kie import envelope
from adapters.kie.fake_media import png_bytes
from adapters.system.clock import VirtualClock
from adapters.system.files import LocalFileReader
from adapters.telegram.messenger import TelegramMessenger
from adapters.telegram.result_links import ResultLinks, parse_origins, public_address
from entrypoints.settings import SettingsError, load_settings
from entrypoints.simulator_chat import SimulatedChat
from entrypoints.simulator_driver import SimulatorDriver
from entrypoints.wiring import build_app
from ports.events import UserRef
from ports.effects import ResultKind, ResultRefusedError, SendMedia
from ports.generation import TaskState
from ports.storage import JobState
from tests.fakes import FakeTime, bounded
from tests.harness import Bot
from tests.test_job_lifecycle import launch_z_image

CHAT = 4242
URL_REFUSED = "Bad Request: failed to get HTTP URL content"


@dataclass
class Site:
    """A loopback web server that counts the requests it gets."""

    base: str = ""
    hits: list[str] = field(default_factory=list)


async def _serve(routes: web.RouteTableDef, site: Site) -> web.AppRunner:
    @web.middleware
    async def count(request: web.Request, handler):
        site.hits.append(f"{request.method} {request.path}")
        return await handler(request)

    app = web.Application(middlewares=[count])
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    site.base = f"http://{host}:{port}"
    return runner


@pytest.fixture
async def inside() -> AsyncIterator[Site]:
    """An internal service the bot must never fetch from (think metadata endpoint or admin page)."""
    site, routes = Site(), web.RouteTableDef()

    @routes.get("/secret.png")
    async def secret(request: web.Request) -> web.Response:
        return web.Response(body=b"SECRET", content_type="image/png")

    runner = await _serve(routes, site)
    yield site
    await runner.cleanup()


@pytest.fixture
async def cdn(inside: Site) -> AsyncIterator[Site]:
    """The result host the configuration trusts by its exact origin."""
    site, routes = Site(), web.RouteTableDef()

    @routes.get("/cat.png")
    async def cat(request: web.Request) -> web.Response:
        return web.Response(body=png_bytes("cat"), content_type="image/png")

    @routes.get("/page.png")
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html>login</html>", content_type="text/html")

    @routes.get("/to-inside.png")
    async def to_inside(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{inside.base}/secret.png")

    @routes.get("/loop/{n}")
    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/loop/{int(request.match_info['n']) + 1}")

    runner = await _serve(routes, site)
    yield site
    await runner.cleanup()


def messenger(bot: telegram.Bot, *, files: Path | None = None, trusted: str = "") -> TelegramMessenger:
    clock = FakeTime()
    links = ResultLinks(file_root=files, trusted_origins=parse_origins(trusted))
    return TelegramMessenger(bot, sleep=clock.sleep, clock=clock.clock, links=links)


# --- schemes ---------------------------------------------------------------------------------------------------


@bounded()
async def test_a_file_link_is_refused_unless_the_fake_generator_is_wired(api, bot, tmp_path):
    secret = tmp_path / "environ"
    secret.write_bytes(b"TELEGRAM_BOT_TOKEN=123:abc")
    with pytest.raises(ResultRefusedError):
        await messenger(bot).apply([SendMedia(CHAT, ResultKind.DOCUMENT, secret.as_uri())])
    assert api.messages(CHAT) == [] and api.calls("sendDocument") == []


@bounded()
async def test_a_file_link_outside_the_fake_generators_directory_is_refused(api, bot, tmp_path):
    results, secret = tmp_path / "files", tmp_path / "state.json"
    results.mkdir()
    secret.write_bytes(b'{"users": {}}')
    sneaky = f"file://{results}/../state.json"  # ".." out of the directory
    for url in (secret.as_uri(), sneaky, "file:///proc/self/environ"):
        with pytest.raises(ResultRefusedError):
            await messenger(bot, files=results).apply([SendMedia(CHAT, ResultKind.DOCUMENT, url)])
    assert api.messages(CHAT) == []


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "javascript:alert(1)", "data:image/png;base64,AA=="])
@bounded()
async def test_other_schemes_are_refused(api, bot, url, tmp_path):
    with pytest.raises(ResultRefusedError):
        await messenger(bot, files=tmp_path).apply([SendMedia(CHAT, ResultKind.PHOTO, url)])
    assert api.messages(CHAT) == []


@pytest.mark.parametrize("url", ["file:///proc/self/environ", "ftp://cdn.example/x.png", "javascript:alert(1)",
                                 "http:///no-host.png"])
def test_a_real_kie_answer_with_a_non_web_result_link_is_a_failed_task(url):
    data = {"taskId": "t1", "state": "success", "resultJson": f'{{"resultUrls": ["https://cdn.example/a.png", "{url}"]}}'}
    status = envelope.status_of("t1", data)
    assert status.state is TaskState.FAIL and status.fail_code == envelope.BAD_RESULT_LINK
    assert status.result_urls == ()


def test_every_api_family_gets_the_same_check():  # the gateway applies it to Suno, Runway, Veo … statuses too
    from ports.generation import TaskStatus

    status = TaskStatus("t1", TaskState.SUCCESS, result_urls=("https://cdn.example/a.mp3", "file:///etc/passwd"))
    assert envelope.web_links_only(status).state is TaskState.FAIL
    fine = TaskStatus("t1", TaskState.SUCCESS, result_urls=("https://cdn.example/a.mp3",))
    assert envelope.web_links_only(fine) is fine


def test_web_result_links_still_succeed():
    data = {"taskId": "t1", "state": "success", "resultJson": '{"resultUrls": ["https://cdn.example/a.png"]}'}
    assert envelope.status_of("t1", data).result_urls == ("https://cdn.example/a.png",)


# --- addresses -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "240.0.0.1", "224.0.0.1", "::1", "fe80::1%eth0",
                                     "fc00::1", "::ffff:127.0.0.1", "::", "2002:7f00:1::"])
def test_internal_and_reserved_addresses_are_not_public(address):
    assert public_address(address) is False


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_internet_addresses_are_public(address):
    assert public_address(address) is True


async def test_a_name_that_resolves_inside_is_not_fetchable():
    async def resolve(host: str, port: int) -> list[str]:
        return {"cdn.example": ["93.184.216.34"], "evil.example": ["93.184.216.34", "127.0.0.1"]}[host]

    links = ResultLinks(resolve=resolve)
    assert await links.fetchable("https://cdn.example/a.png") is True
    assert await links.fetchable("https://evil.example/a.png") is False  # one internal address is enough


def test_trusted_origins_are_exact_origins():
    assert parse_origins("http://127.0.0.1:8080, https://CDN.example") == {
        *parse_origins("http://127.0.0.1:8080"), *parse_origins("https://cdn.example:443")}
    for bad in ("http://127.0.0.1:8080/path", "ftp://x", "127.0.0.1:80", "http://user@x"):
        with pytest.raises(ValueError):
            parse_origins(bad)


def test_a_bad_trusted_origin_setting_fails_at_startup_naming_it():
    with pytest.raises(SettingsError, match="KIE_TRUSTED_RESULT_ORIGINS"):
        load_settings({"KIE_TRUSTED_RESULT_ORIGINS": "http://127.0.0.1:1/x"})


# --- fetching --------------------------------------------------------------------------------------------------


@bounded()
async def test_a_loopback_link_goes_to_telegram_by_url_and_is_never_fetched_by_the_bot(api, bot, inside):
    api.fail_next("sendPhoto", 400, description=URL_REFUSED)  # Telegram cannot reach it either
    url = f"{inside.base}/secret.png"
    await messenger(bot).apply([SendMedia(CHAT, ResultKind.PHOTO, url, caption="Your picture")])

    assert inside.hits == []  # no HEAD, no GET from the bot
    assert [call.params["photo"] for call in api.calls("sendPhoto")] == [url]  # by URL only, no upload
    [message] = api.messages(CHAT)
    assert message.kind == "text" and b"SECRET" not in message.text.encode()


@bounded()
async def test_a_trusted_origin_is_fetched_when_telegram_cannot(api, bot, cdn):
    api.fail_next("sendPhoto", 400, description=URL_REFUSED)
    await messenger(bot, trusted=cdn.base).apply([SendMedia(CHAT, ResultKind.PHOTO, f"{cdn.base}/cat.png")])

    assert api.messages(CHAT)[0].upload.data == png_bytes("cat")
    assert "GET /cat.png" in cdn.hits


@bounded()
async def test_a_redirect_from_a_trusted_origin_into_the_network_is_not_followed(api, bot, cdn, inside):
    api.fail_next("sendPhoto", 400, description=URL_REFUSED)
    url = f"{cdn.base}/to-inside.png"
    await messenger(bot, trusted=cdn.base).apply([SendMedia(CHAT, ResultKind.PHOTO, url)])

    assert inside.hits == []
    assert [m.kind for m in api.messages(CHAT)] == ["text"]


@bounded()
async def test_redirects_are_limited(api, bot, cdn):
    api.fail_next("sendPhoto", 400, description=URL_REFUSED)
    await messenger(bot, trusted=cdn.base).apply([SendMedia(CHAT, ResultKind.PHOTO, f"{cdn.base}/loop/0")])

    assert len([hit for hit in cdn.hits if hit.startswith("GET")]) <= 4  # the first request and 3 redirects
    assert [m.kind for m in api.messages(CHAT)] == ["text"]


@bounded()
async def test_a_web_page_is_not_uploaded_as_a_photo(api, bot, cdn):
    api.fail_next("sendPhoto", 400, description=URL_REFUSED)
    await messenger(bot, trusted=cdn.base).apply([SendMedia(CHAT, ResultKind.PHOTO, f"{cdn.base}/page.png")])

    assert [m.kind for m in api.messages(CHAT)] == ["text"]
    assert all("photo" not in call.files for call in api.calls("sendPhoto"))


# --- the job ---------------------------------------------------------------------------------------------------


class RefusingMessenger:
    """The simulator's chat, except that result files are refused as a link the messenger never delivers."""

    def __init__(self, chat) -> None:
        self.chat = chat

    async def apply(self, effects) -> None:
        if any(isinstance(effect, SendMedia) for effect in effects):
            raise ResultRefusedError("a result link with scheme 'ftp' is never delivered")
        await self.chat.apply(effects)


async def test_a_refused_result_fails_the_job_with_a_refund_instead_of_retrying_forever(tmp_path):
    config = load_settings({}, DATA_DIR=tmp_path / "data", WELCOME_BALANCE=Decimal("100"), FREE_DAILY_LIMIT=0)
    chat = SimulatedChat(output=lambda line: None)
    async with build_app(config, messenger=RefusingMessenger(chat), media=LocalFileReader(), clock=VirtualClock()) as app:
        bot = SimpleNamespace(driver=SimulatorDriver(app.core, chat, UserRef(1001, language_code="ru")), chat=chat)
        bot.send = bot.driver.send
        bot.press = lambda label: Bot.press(bot, label)
        job_id = await launch_z_image(bot)
        await app.runner.wait_idle()

        job = await app.storage.jobs.get(job_id)
        assert job.state is JobState.REFUNDED and job.error == "refused_result"
        assert await app.storage.ledger.balance(1001) == 100_00
        assert "нельзя доставить" in chat.last().text  # the user is told why, with the refund


# --- end to end: the real gateway against a KIE stand-in that returns chosen links --------------------------------


@pytest.mark.parametrize("link", ["file:///proc/self/environ", "ftp://cdn.example/a.png", "javascript:alert(1)"])
async def test_a_kie_answer_with_a_non_web_link_refunds_the_job_and_sends_no_file(tmp_path, link):
    from tests.test_kie_e2e import USER, bot_on_kie, job_of, start_z_image

    async with bot_on_kie(tmp_path) as (client, kie):
        kie.return_links_next(link)
        await start_z_image(client)
        await client.settle()

        job = await job_of(client)
        assert job.state is JobState.REFUNDED and job.error == envelope.BAD_RESULT_LINK and job.price > 0
        ledger = await client.server.app.storage.ledger.entries(USER)
        assert sum(entry.amount for entry in ledger if entry.key.endswith(job.id)) == 0  # charged, then refunded
        assert not [m for m in client.api.messages(USER) if m.kind in ("photo", "document")]
        assert "нельзя доставить" in client.api.messages(USER)[-1].text


async def test_a_kie_answer_with_a_loopback_link_is_never_fetched_by_the_bot(tmp_path, inside):
    from tests.test_kie_e2e import USER, bot_on_kie, job_of, start_z_image

    async with bot_on_kie(tmp_path) as (client, kie):
        kie.return_links_next(f"{inside.base}/secret.png")
        client.api.fail_next("sendPhoto", 400, description=URL_REFUSED)  # as Telegram, which cannot reach it
        await start_z_image(client)
        await client.settle()

        assert (await job_of(client)).state is JobState.DELIVERED
        assert inside.hits == []  # no HEAD, no GET from the bot
        assert not [m for m in client.api.messages(USER) if m.kind in ("photo", "document")]
