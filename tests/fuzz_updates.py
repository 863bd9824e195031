"""Mutated Telegram updates for the webhook fuzz test: real update shapes (as the Bot API sends them), then
random damage. Deterministic for a seed: ``FuzzUpdates(seed).bodies(n)`` gives the same bytes every run.

Shapes: commands (user and admin, with odd arguments), text, every callback tag with valid and odd fields,
media messages, membership changes, pre-checkout queries, successful and refunded Stars payments, group and
forum messages, and kinds the bot ignores. Damage, 0 to 3 per update: type swaps, extreme ids (2^63,
negative, 10^30), missing fields, unicode junk (U+0000, bidi, combining marks, "²①"), deep nesting, extra
fields, repeated update ids; and on the bytes: NaN, Infinity, 1e999, 5000-digit integers, lone surrogates,
invalid UTF-8, truncation.
"""

from __future__ import annotations

import json
import random
from typing import Any

from core.routes import CALLBACK_ROUTES

BOT_USERNAME = "TrtFakeBot"
ADMINS = (900_000_001, 900_000_002)
USERS = tuple(range(1_000_001, 1_000_301))

ODD_DIGITS = ("²", "①", "٣", "１", "007", "00", "-1", "+1", "1.0", "1e3", "99999999", "0x10", " 1", "")
JUNK_TEXT = (
    "\x00", "a\x00b", "\u202eevil", "e\u0301\u0301\u0301", "😀" * 50, "²①", "\ufeff", "\uffff", "<b>bold", "&amp;",
    "/", "//", "/start@" + BOT_USERNAME, "/start@other_bot", "x" * 5000, "\n\n", " ", "\u2028", "'; DROP TABLE users;--",
    "ref_" + "z" * 20, "%s%n", "\U0010ffff", "ǅ", "İ",
)
EXTREME_INTS = (2**63, 2**63 - 1, -(2**63), -(2**63) - 1, 2**64, 10**30, -1, 0, 2**53, 2**53 - 1, -(2**53) + 1, 2**31)
ODD_AMOUNTS = ("1e5", "-5", "0", "²", "1,5", "12.345", "99999999999999999999999", "NaN", "Infinity", "1e999990",
               "0.001", "1 000", "١٢", "5" * 40)
COMMANDS = ("start", "menu", "help", "balance", "language", "cancel", "paysupport", "invite", "status", "admin",
            "credit", "debit", "block", "unblock", "refund", "markup", "unknown", "START", "Start@" + BOT_USERNAME,
            "start@other_bot")
MODELS = ("z-image", "kling/v2-1-pro", "google/nano-banana", "elevenlabs/text-to-speech", "nope/none")


class FuzzUpdates:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._next_id = 10_000
        self._message_id = 1

    # --- the stream ------------------------------------------------------------------------------

    def bodies(self, count: int) -> list[bytes]:
        return [self.body() for _ in range(count)]

    def body(self) -> bytes:
        rng = self.rng
        update = self.update()
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            self.damage(update)
        text = json.dumps(update, ensure_ascii=rng.random() < 0.5)
        if rng.random() < 0.06:
            return self.damage_bytes(text)
        return text.encode("utf-8", "surrogatepass")

    def update(self) -> dict[str, Any]:
        rng = self.rng
        self._next_id += 1
        update_id = self._next_id if rng.random() > 0.03 else rng.randint(10_000, self._next_id)  # some repeats
        maker = rng.choices(
            (self.command, self.text, self.callback, self.media, self.membership, self.pre_checkout, self.payment,
             self.refund, self.group, self.ignored),
            weights=(16, 8, 30, 8, 4, 6, 6, 3, 8, 4),
        )[0]
        return {"update_id": update_id, **maker()}

    # --- shapes ----------------------------------------------------------------------------------

    def user(self, user_id: int | None = None) -> dict[str, Any]:
        rng = self.rng
        user_id = user_id or (rng.choice(ADMINS) if rng.random() < 0.1 else rng.choice(USERS))
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": rng.choice(("Ann", "Борис", "李"))}
        if rng.random() < 0.7:
            user["language_code"] = rng.choice(("ru", "en", "de", "", "xx-YY", "pt-br"))
        if rng.random() < 0.5:
            user["username"] = rng.choice(("ann_k", "bob", "x" * 32))
        return user

    def private_message(self, **fields: Any) -> dict[str, Any]:
        sender = self.user()
        self._message_id += 1
        chat = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
        return {"message_id": self._message_id, "from": sender, "chat": chat, "date": 1767225600, **fields}

    def command(self) -> dict[str, Any]:
        rng = self.rng
        name = rng.choice(COMMANDS)
        args = ""
        if name in ("credit", "debit"):
            args = f"{rng.choice((*USERS[:5], *ADMINS, 0, -5, 2**63))} {rng.choice((*ODD_AMOUNTS, '10', '150.50'))}"
        elif name in ("block", "unblock"):
            args = str(rng.choice((*USERS[:5], 0, -1, 2**63, "abc", "²")))
        elif name in ("refund", "markup"):
            args = rng.choice(("", "1.5", "charge-1", "²", "1e999", "-1"))
        elif name.lower().startswith("start"):
            args = rng.choice(("", "ref_1", "ref_" + rng.choice(("lfls", "zzzzzzzzzzzzz", "²", "")), "junk"))
        text = f"/{name} {args}".strip() if rng.random() > 0.1 else f"/{name}\n{args}"
        entities = [{"type": "bot_command", "offset": 0, "length": len(name) + 1}]
        return {"message": self.private_message(text=text, entities=entities)}

    def text(self) -> dict[str, Any]:
        text = self.rng.choice(("hello", "a cat in a hat", "12", "100", *JUNK_TEXT))
        return {"message": self.private_message(text=text)}

    def callback(self) -> dict[str, Any]:
        rng = self.rng
        sender = self.user()
        query: dict[str, Any] = {"id": f"cb{rng.getrandbits(48)}", "from": sender, "chat_instance": "42",
                                 "data": self.callback_data()}
        if rng.random() < 0.9:
            self._message_id += 1
            query["message"] = {"message_id": rng.choice((self._message_id, 1, 2, 0)), "date": 1767225600,
                                "chat": {"id": sender["id"], "type": "private"},
                                "from": {"id": 999_000, "is_bot": True, "first_name": "TRT", "username": BOT_USERNAME},
                                "text": "menu"}
        else:
            query["inline_message_id"] = "AAAA"
        return {"callback_query": query}

    def callback_data(self) -> str:
        rng = self.rng
        if rng.random() < 0.1:
            return rng.choice(("", ":", "::::", "bot_kie:old:button", "x" * 64, "menu:" + "ы" * 30, "\x00", "²",
                               "menu\x00", "MENU", "cat:image:1:2:3"))
        family = rng.choice(list(CALLBACK_ROUTES))
        tag, (low, high) = family.prefix, family.arity()
        fields = [self.field() for _ in range(rng.randint(low, high))]
        return ":".join([tag, *fields])[:64]

    def field(self) -> str:
        rng = self.rng
        return rng.choice((
            lambda: str(rng.randint(0, 20)), lambda: rng.choice(ODD_DIGITS), lambda: rng.choice(MODELS),
            lambda: rng.choice(("image", "video", "audio", "tools", "new", "en", "ru", "stats", "users", "find",
                                "models", "mt", "ban", "unban", "bc", "audit", "markup", "xx")),
            lambda: f"{rng.getrandbits(40):x}", lambda: rng.choice(("100", "250", "500", "1000", "7")),
            lambda: rng.choice(JUNK_TEXT)[:8].replace(":", ""),
        ))()

    def media(self) -> dict[str, Any]:
        rng = self.rng
        kind = rng.choice(("photo", "document", "video", "audio", "voice", "animation", "sticker"))
        body = {"file_id": f"file-{rng.getrandbits(20)}", "file_unique_id": "u", "file_size": rng.choice((10, 2**40))}
        if kind == "photo":
            fields: dict[str, Any] = {"photo": [{**body, "width": 90, "height": 90}, {**body, "width": 800, "height": 600}]}
        else:
            fields = {kind: {**body, "mime_type": rng.choice(("image/png", "audio/ogg", "x/y", "")), "duration": 3}}
            if kind == "animation":
                fields["document"] = dict(body)
        if rng.random() < 0.5:
            fields["caption"] = rng.choice(("make it pretty", *JUNK_TEXT))
        return {"message": self.private_message(**fields)}

    def membership(self) -> dict[str, Any]:
        rng = self.rng
        sender = self.user()
        status = rng.choice(("member", "kicked", "left", "administrator", "restricted", "weird"))
        chat = {"id": sender["id"], "type": rng.choice(("private", "private", "group"))}
        return {"my_chat_member": {"chat": chat, "from": sender, "date": 1767225600,
                                   "old_chat_member": {"user": sender, "status": "member"},
                                   "new_chat_member": {"user": sender, "status": status}}}

    def payload(self) -> str:
        return self.rng.choice(("stars:100", "stars:250", "stars:7", "stars:²", "stars:", "stars:-100", "junk",
                                "stars:100:extra", "", "stars:" + "9" * 30))

    def pre_checkout(self) -> dict[str, Any]:
        rng = self.rng
        return {"pre_checkout_query": {
            "id": f"pcq{rng.getrandbits(40)}", "from": self.user(), "currency": rng.choice(("XTR", "XTR", "RUB", "")),
            "total_amount": rng.choice((100, 250, 7, 0, -100, 2**40)), "invoice_payload": self.payload()}}

    def payment_body(self) -> dict[str, Any]:
        rng = self.rng
        return {"currency": rng.choice(("XTR", "XTR", "USD")), "total_amount": rng.choice((100, 250, 7, 0, -1, 2**40)),
                "invoice_payload": self.payload(),
                "telegram_payment_charge_id": rng.choice((f"ch-{rng.getrandbits(32)}", "ch-1", "ch-1", "")),
                "provider_payment_charge_id": ""}

    def payment(self) -> dict[str, Any]:
        message = self.private_message(successful_payment=self.payment_body())
        if self.rng.random() < 0.2:
            del message["from"]
        return {"message": message}

    def refund(self) -> dict[str, Any]:
        return {"message": self.private_message(refunded_payment=self.payment_body())}

    def group(self) -> dict[str, Any]:
        rng = self.rng
        message = self.private_message(text=rng.choice(("/start", f"/start@{BOT_USERNAME}", "/balance@other_bot",
                                                        "/help", "hello all", "/admin")))
        message["chat"] = {"id": rng.choice((-100_123_456_789, -42, -(2**40))),
                           "type": rng.choice(("group", "supergroup", "channel")), "title": "Group"}
        if rng.random() < 0.4:
            message["message_thread_id"], message["is_topic_message"] = rng.randint(1, 99), True
        return {"message": message}

    def ignored(self) -> dict[str, Any]:
        rng = self.rng
        kind = rng.choice(("edited_message", "channel_post", "inline_query", "poll", "chat_join_request", "unknown_kind"))
        if kind in ("edited_message", "channel_post"):
            return {kind: self.private_message(text="edited")}
        return {kind: {"id": "x", "from": self.user(), "query": "q", "chat": {"id": 1, "type": "private"}}}

    # --- damage ----------------------------------------------------------------------------------

    def damage(self, update: dict[str, Any]) -> None:
        rng = self.rng
        containers = _containers(update)
        if not containers:
            return
        parent, key = rng.choice(containers)
        kind = rng.choice(("swap", "extreme", "delete", "junk", "nest", "extra", "swap", "extreme", "junk"))
        if kind == "delete":
            if isinstance(parent, dict):
                parent.pop(key, None)
            else:
                parent.pop(key)
        elif kind == "swap":
            parent[key] = self.any_value()
        elif kind == "extreme":
            parent[key] = rng.choice(EXTREME_INTS)
        elif kind == "junk":
            parent[key] = rng.choice(JUNK_TEXT) + (chr(0xD800) if rng.random() < 0.05 else "")
        elif kind == "nest":
            value = parent[key]
            for _ in range(rng.choice((1, 3, 10, 40, 70))):
                value = [value] if rng.random() < 0.5 else {"v": value}
            parent[key] = value
        elif isinstance(parent, dict):
            parent[rng.choice(("extra", "text", "data", "from", "chat", "\x00", "entities"))] = self.any_value()

    def any_value(self) -> Any:
        rng = self.rng
        return rng.choice((None, True, False, 0, -1, 1.5, "", "x", [], {}, [1, "a"], {"id": 1}, 2**63, "²",
                           {"id": "1"}, [None], 10**20))

    def damage_bytes(self, text: str) -> bytes:
        rng = self.rng
        data = text.encode("utf-8", "surrogatepass")
        cut = rng.randrange(1, max(2, len(data)))
        choice = rng.choice(("nan", "inf", "big", "huge_float", "surrogate", "utf8", "truncate", "trailing", "nul"))
        if choice == "truncate":
            return data[:cut]
        if choice == "trailing":
            return data + b" {}"
        if choice == "utf8":
            return data[:cut] + b"\xff\xfe" + data[cut:]
        insert = {"nan": b"NaN", "inf": b"-Infinity", "big": b"7" * 5000, "huge_float": b"1e999",
                  "surrogate": b'"\\udc00"', "nul": b'"\\u0000"'}[choice]
        return data[:-1] + b',"fuzz":' + insert + b"}" if data.endswith(b"}") else data


def _containers(value: Any) -> list[tuple[Any, Any]]:
    """(container, key) for every value below the update's top level (update_id included)."""
    found: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        current = stack.pop()
        items = current.items() if isinstance(current, dict) else enumerate(current)
        for key, item in items:
            found.append((current, key))
            if isinstance(item, (dict, list)) and item:
                stack.append(item)
    return found
