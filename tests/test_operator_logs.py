"""Logs an operator can use: rejected webhook posts leave a (rate-limited, secret-free) line with the remote
address; PASSIVE_REJECT carries the cid and update_id; a credited Stars payment and its duplicate are logged
with the charge, the Stars, the amount and the user; the KIE callback path settles under the job's cid."""

from __future__ import annotations

import re

import aiohttp

from adapters.telegram.fake_bot_api import FakeBotApi
from entrypoints.fake_stack import SECRET_PATH, SECRET_TOKEN, running_server
from entrypoints.smoke_checks import SECRET_HEADER, message_update
from tests.test_instances import instances, post
from tests.test_money_flows import pay

USER = 7301


def lines_with(caplog, marker: str) -> list[str]:
    return [line for line in caplog.text.splitlines() if f": {marker}" in line]


async def test_rejected_webhook_posts_are_logged_once_a_minute_per_status_without_secrets(tmp_path, caplog):
    caplog.set_level("INFO")
    async with running_server(tmp_path) as client:
        update = message_update(USER, "/start")
        for _ in range(3):
            assert await client.post_update(update, token="wrong_token_value") == 403
        assert await client.post_update(update, path="not-the-secret-path") == 404
        async with client.http.post(f"{client.base}/webhook/{SECRET_PATH}", data=b"{junk",
                                    headers={SECRET_HEADER: SECRET_TOKEN}) as response:
            assert response.status == 400
    rejected = lines_with(caplog, "WEBHOOK_REJECTED")
    assert [re.search(r"status=(\d+)", line).group(1) for line in rejected] == ["403", "404", "400"]
    assert all("remote=127.0.0.1" in line for line in rejected)
    assert "reason=wrong or missing secret token" in rejected[0]
    assert not any(secret in caplog.text for secret in ("wrong_token_value", "not-the-secret-path", SECRET_TOKEN))


async def test_a_passive_reject_line_carries_its_cid_and_update_id(tmp_path, caplog):
    caplog.set_level("INFO")
    async with FakeBotApi() as api:
        async with instances(tmp_path, api, 2, DATA_DIR=str(tmp_path / "shared")) as (first, second):
            update = message_update(USER, "/start")
            assert await post(second, update) == 503
    [line] = lines_with(caplog, "⏸️ PASSIVE_REJECT")
    cid = re.search(r" cid=(\w+)", line).group(1)
    assert cid != "-" and f"update_id={update['update_id']}" in line and "kind=update" in line


async def test_a_credited_payment_and_its_duplicate_are_logged_with_charge_stars_amount_and_user(tmp_path, caplog):
    caplog.set_level("INFO")
    async with running_server(tmp_path) as client:
        await client.say(USER, "/start")
        paid = await pay(client, USER, 100)
        charge = paid["message"]["successful_payment"]["telegram_payment_charge_id"]
        for update in (paid, {**paid, "update_id": paid["update_id"] + 1000}):
            assert await client.post_update(update) == 200
            await client.settle()
    [credited] = lines_with(caplog, "PAYMENT_CREDITED")
    [duplicate] = lines_with(caplog, "PAYMENT_DUPLICATE")
    for line in (credited, duplicate):
        assert f"charge={charge} stars=100 amount=15000 currency=RUB user={USER}" in line
        assert re.search(r" cid=\w+", line) and " cid=-" not in line
