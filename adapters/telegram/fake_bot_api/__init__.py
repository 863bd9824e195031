"""FakeBotApi: a Telegram Bot API server on loopback that answers the way Telegram does.

    async with FakeBotApi() as api:
        bot = telegram.Bot(api.token, base_url=f"{api.base_url}/bot", base_file_url=f"{api.base_url}/file/bot")

Real HTTP, so python-telegram-bot's serialisation (form fields with JSON-encoded values, multipart uploads) and
its error mapping (status code + ``description`` + ``parameters``) run for real.

Reproduced Telegram behaviours
- Routing: ``{root}/bot{token}/{method}`` (GET or POST; query string, form, JSON or multipart parameters;
  method names case-insensitive) and files at ``{root}/file/bot{token}/{file_path}``. A wrong token → 401
  "Unauthorized"; an unknown method → 404 "Not Found". Every answer is ``{"ok": …}`` with ``result`` or
  ``error_code`` + ``description`` (+ ``parameters``), with the error code as the HTTP status.
- Messages get increasing ``message_id`` per chat and are kept (text as the user sees it after HTML parsing,
  the HTML sent, the keyboard). ``parse_mode=HTML`` is parsed: an unsupported tag → 400 "can't parse
  entities". Text ≤ 4096 and caption ≤ 1024 UTF-16 units ("message is too long" / "message caption is too
  long"); empty text → "message text is empty"; ``callback_data`` must be 1–64 bytes ("BUTTON_DATA_INVALID").
- editMessageText: unknown id → "message to edit not found"; a message not sent by the bot → "message can't
  be edited"; a media message → "there is no text in the message to edit"; same text, HTML and keyboard →
  "message is not modified: …". Omitting ``reply_markup`` removes the keyboard, as in Telegram.
- answerCallbackQuery: only ids of callback queries pushed with :meth:`push_update`, once each; otherwise
  "query is too old and response timeout expired or query ID is invalid".
- sendPhoto/Video/Audio/Document by upload (photo ≤ 10 MB, else "PHOTO_SAVE_FILE_INVALID" [approximation];
  any request > 50 MB → 413), by ``file_id`` (known ids only, else "wrong file identifier/HTTP URL specified"),
  or by URL, which the fake really fetches like Telegram does: photo ≤ 5 MB, others ≤ 20 MB, else or on any
  fetch error "failed to get HTTP URL content"; a photo that is not ``image/*`` or a document that is not
  PDF/ZIP/GIF → "wrong type of the web page content".
- getFile (files from :meth:`add_file` or earlier uploads; unknown → "invalid file_id"; > 20 MB → "file is
  too big") and the download at ``file_path``.
- getUpdates: serves :meth:`push_update` updates in order, ``limit`` ≤ 100, long-polls up to ``timeout``;
  updates with ``update_id < offset`` are forgotten for good (a negative offset keeps the last ``-offset``);
  ``allowed_updates`` (kept until changed, default all but chat_member/message_reaction*) filters updates
  pushed afterwards. 409 while a webhook is set ("can't use getUpdates method while webhook is active…"), and
  a second getUpdates terminates the one in progress with 409 "terminated by other getUpdates request…".
- setWebhook (HTTPS only, "bad webhook: An HTTPS URL must be provided for webhook", unless made with
  ``local=True`` like ``telegram-bot-api --local``, which takes http:// on any host and port;
  ``drop_pending_updates`` clears the queue; an empty URL removes it), deleteWebhook, getWebhookInfo
  (``pending_update_count``, ``last_error_message``). With ``deliver_webhooks=True`` queued updates are POSTed to
  the webhook with the secret token header, in order, retried until answered 2xx (:mod:`.webhook`).
- Acting as a user from outside the process (:mod:`.control`): a small HTTP control API under ``/_fake/`` and
  ``python -m adapters.telegram.fake_bot_api --port N``, which also reads commands from the terminal.
- Stars payments (:mod:`.payments`): sendInvoice validated like Telegram (XTR needs exactly one price and no
  provider token; title/description/payload limits) and kept as a message of kind "invoice";
  answerPreCheckoutQuery only for pushed/registered queries, once; refundStarPayment only for a known charge of
  that user, once ("CHARGE_ALREADY_REFUNDED" afterwards). :meth:`pay_invoice` builds the pre-checkout and
  successful-payment updates of a paid invoice (fresh charge id, registered); :meth:`refunded_payment_update`
  the refund's service message; :meth:`register_charge` makes any charge known.
- getMe, sendChatAction, setMyCommands, deleteMessage: accepted and recorded.
- Scripted failures: :meth:`fail_next` (429 with ``parameters.retry_after``, 403, 400, 5xx…),
  :meth:`delay_next` (a slow answer, for client timeouts), :meth:`block_user` (403 "bot was blocked by the user").

Layout: :mod:`.server` (the class, routing, HTTP plumbing, test helpers) combines the Bot API method groups
:mod:`.messages`, :mod:`.media`, :mod:`.updates` and :mod:`.payments`, mixins over the state in :mod:`.state`;
:mod:`.html` parses ``parse_mode=HTML``; :mod:`.models` holds the records, limits and error descriptions.
"""

from adapters.telegram.fake_bot_api.models import (
    BY_URL_MAX,
    CHARGE_ALREADY_REFUNDED,
    CHARGE_ID_INVALID,
    GET_FILE_MAX,
    MIB,
    NOT_MODIFIED,
    PHOTO_BY_URL_MAX,
    PHOTO_UPLOAD_MAX,
    QUERY_TOO_OLD,
    STARS_INVOICE_INVALID,
    TERMINATED,
    TOKEN,
    UPLOAD_MAX,
    URL_FAILED,
    WEBHOOK_ACTIVE,
    WRONG_FILE,
    WRONG_TYPE,
    ApiError,
    Call,
    Charge,
    SentMessage,
    UploadedFile,
)
from adapters.telegram.fake_bot_api.server import FakeBotApi

__all__ = [
    "BY_URL_MAX", "CHARGE_ALREADY_REFUNDED", "CHARGE_ID_INVALID", "GET_FILE_MAX", "MIB", "NOT_MODIFIED",
    "PHOTO_BY_URL_MAX", "PHOTO_UPLOAD_MAX", "QUERY_TOO_OLD", "STARS_INVOICE_INVALID", "TERMINATED", "TOKEN",
    "UPLOAD_MAX", "URL_FAILED", "WEBHOOK_ACTIVE", "WRONG_FILE", "WRONG_TYPE",
    "ApiError", "Call", "Charge", "FakeBotApi", "SentMessage", "UploadedFile",
]
