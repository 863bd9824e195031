"""How KIE answers, read at the edge: the ``{code, msg|message, data}`` envelope, the error-code table, and the
recordInfo / upload / credit payloads (docs: /work/shared/kie/KIE_API.md §2–§5, §7).

KIE reports business errors inside HTTP 200 bodies, so both the HTTP status and the envelope ``code`` are
checked; an envelope code other than 200 wins over the HTTP status. Nothing here logs or touches the network.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from ports.generation import (
    GatewayAuthError,
    GatewayError,
    GatewayQuotaError,
    GatewayRejectedError,
    GatewayRateLimitedError,
    GatewayUnavailableError,
    TaskState,
    TaskStatus,
    UnknownTaskError,
)

CREATE_TASK = "createTask"
RECORD_INFO = "recordInfo"
CREDIT = "credit"
DOWNLOAD_URL = "download-url"
STREAM_UPLOAD = "file-stream-upload"
URL_UPLOAD = "file-url-upload"

# Envelope codes after which resending cannot create a duplicate: KIE says the request was not queued.
RATE_LIMITED_CODE = 429
NOT_ACCEPTED_CODES = frozenset({RATE_LIMITED_CODE, 455})
# Transient codes (§7 "retry: yes"); other 5xx are transient too, except the ones listed as final below.
TRANSIENT_CODES = frozenset({408, 429, 455})
REJECTED_CODES = frozenset({400, 413, 422})
UNAVAILABLE_FEATURE_CODES = frozenset({404, 505})
GENERATION_FAILED_CODE = 501  # §7: "generation failed", the task is final: not retryable
CLOUDFLARE_UA_BLOCK = "error code: 1010"
BAD_RESULT_LINK = "bad_result_link"  # a TaskStatus fail_code: the result's link is not http(s)
_SNIPPET = 200


class CallFailure(Exception):
    """One failed attempt: the port error to raise (``from original``), and what the retry policy needs."""

    def __init__(
        self, error: GatewayError, *, original: BaseException | None = None, kie_code: int | None = None,
        sent: bool = True,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.original = original
        self.kie_code = kie_code
        self.sent = sent

    @property
    def resend_safe(self) -> bool:
        """True only when KIE certainly did not accept the request (never reached it, or said 429/455)."""
        return not self.sent or self.kie_code in NOT_ACCEPTED_CODES


# --- response shapes -----------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Envelope(_Model):
    code: int | None = None
    msg: Any = None
    message: Any = None
    data: Any = None

    @property
    def text(self) -> str:
        """KIE's message: ``msg`` on most endpoints, ``message`` on the documented recordInfo example."""
        value = self.msg if self.msg not in (None, "") else self.message
        return "" if value is None else str(value)


class TaskCreated(_Model):
    task_id: str = Field(validation_alias=AliasChoices("taskId", "task_id"), min_length=1)


class Record(_Model):
    task_id: str | None = Field(None, validation_alias=AliasChoices("taskId", "task_id"))
    state: str
    result_json: str | dict[str, Any] | None = Field(None, validation_alias="resultJson")
    legacy_urls: list[str] | None = Field(None, validation_alias="resultUrls")  # deprecated data.resultUrls
    fail_code: Any = Field(None, validation_alias="failCode")
    fail_msg: Any = Field(None, validation_alias=AliasChoices("failMsg", "errorMessage"))
    progress: Any = None
    credits_consumed: Any = Field(None, validation_alias=AliasChoices("creditsConsumed", "consumeCredits"))


class ResultPayload(_Model):
    result_urls: list[str] = Field(default_factory=list, validation_alias="resultUrls")
    result_object: Any = Field(None, validation_alias="resultObject")


class UploadedFile(_Model):
    # Only downloadUrl: the quickstart's fileUrl does not exist in real responses (§5).
    download_url: str = Field(validation_alias="downloadUrl", min_length=1)


# --- reading one response ------------------------------------------------------------------------------------


def interpret(endpoint: str, response: httpx.Response) -> Any:
    """The envelope's ``data`` of a successful answer, else raise ``CallFailure`` with the mapped port error."""
    status = response.status_code
    if status == 403 and CLOUDFLARE_UA_BLOCK in response.text:
        raise CallFailure(
            GatewayAuthError(
                "Cloudflare blocked the request to KIE (HTTP 403, error code 1010): it rejects clients without a "
                "browser-like User-Agent; set an explicit User-Agent header (this is not an API key problem)"
            ),
            kie_code=403,
        )
    envelope, problem, cause = _parse(response.content)
    if envelope is not None and envelope.code is not None and envelope.code != 200:
        code, message = envelope.code, envelope.text
    elif not 200 <= status < 300:
        code, message = status, envelope.text if envelope is not None else _snippet(response.text)
    elif envelope is None or envelope.code is None:
        problem = problem or "no envelope code"
        raise CallFailure(
            GatewayUnavailableError(f"KIE {endpoint} answered HTTP {status} with an invalid body: {problem}"),
            original=cause,
        )
    else:
        return envelope.data
    error = error_for(endpoint, code, message)
    if isinstance(error, GatewayRateLimitedError):
        error.retry_after = _retry_after(response.headers.get("Retry-After"))
    raise CallFailure(error, kie_code=code)


def _retry_after(header: str | None) -> float | None:
    """HTTP Retry-After in seconds (KIE documents none; a proxy in front of it may send one)."""
    try:
        seconds = float(header) if header else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 < seconds <= 3600 else None


def _parse(content: bytes) -> tuple[Envelope | None, str, Exception | None]:
    """The envelope, or None with what is wrong (and the decoding error, to chain)."""
    try:
        body = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"not JSON ({type(error).__name__})", error
    if not isinstance(body, dict):
        return None, "not a JSON object", None
    try:
        return Envelope.model_validate(body), "", None
    except ValidationError:  # not chained: its text would quote the body
        return None, "the envelope code is not a number", None


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat[:_SNIPPET] + ("…" if len(flat) > _SNIPPET else "")


def error_for(endpoint: str, code: int, message: str) -> GatewayError:
    """The port error for a KIE code (envelope or HTTP status) on one endpoint (§7)."""
    said = message or "no message"
    if code == 401:
        return GatewayAuthError(f"KIE rejected the API key (code 401): {said}")
    if code == 403:
        return GatewayAuthError(f"KIE refused access (HTTP 403): check the API key and its IP whitelist: {said}")
    if code == 402:
        return GatewayQuotaError(f"The KIE account has not enough credits (code 402): {said}")
    if code == 433:
        return GatewayQuotaError(f"The KIE API key exceeded its usage limit (code 433): {said}")
    if code == 422 and is_status_endpoint(endpoint) and ("recordinfo is null" in message.lower()
                                                         or "record is null" in message.lower()):
        return UnknownTaskError(f"KIE does not know this task ({said})")
    if code in REJECTED_CODES:
        return GatewayRejectedError(f"KIE rejected the request (code {code}): {said}")
    if code == 500 and "this field is required" in message.lower():
        return GatewayRejectedError(f"KIE rejected the request: a required input field is missing (code 500: {said})")
    if code in UNAVAILABLE_FEATURE_CODES:
        return GatewayRejectedError(f"KIE {endpoint} is not available (code {code}, feature or endpoint): {said}")
    if code == GENERATION_FAILED_CODE:
        return GatewayRejectedError(f"KIE reports the generation failed (code 501): {said}")
    if code == RATE_LIMITED_CODE:
        return GatewayRateLimitedError(f"KIE {endpoint} refused the request for the rate (code 429): {said}")
    if code in TRANSIENT_CODES or code >= 500:
        return GatewayUnavailableError(f"KIE {endpoint} is temporarily unavailable (code {code}): {said}")
    if 400 <= code < 500:
        return GatewayRejectedError(f"KIE rejected the request (code {code}): {said}")
    return GatewayError(f"KIE {endpoint} answered with an unexpected code {code}: {said}")


def is_status_endpoint(endpoint: str) -> bool:
    """recordInfo, or a dedicated family's status endpoint ("veo/record-info", …)."""
    return endpoint == RECORD_INFO or endpoint.endswith("/record-info")


def unexpected(endpoint: str, what: str, error: ValidationError | None = None) -> CallFailure:
    """A success envelope whose data we cannot read. Not retryable: KIE did answer (and on createTask a task may
    exist). Field names only, never the values (recordInfo's ``param`` holds the prompt)."""
    if error is not None:
        fields = ", ".join(".".join(str(part) for part in item["loc"]) or "data" for item in error.errors())
        what = f"{what} (bad fields: {fields})"
    return CallFailure(GatewayError(f"KIE {endpoint} answered with an unexpected body: {what}"))


# --- payloads ------------------------------------------------------------------------------------------------


def task_id_of(data: Any) -> str:
    try:
        return TaskCreated.model_validate(data).task_id
    except ValidationError as error:
        raise unexpected(CREATE_TASK, "no data.taskId", error) from None


def upload_url_of(endpoint: str, data: Any) -> str:
    try:
        return UploadedFile.model_validate(data).download_url
    except ValidationError as error:
        raise unexpected(endpoint, "no data.downloadUrl", error) from None


def download_url_of(data: Any) -> str:
    """``data`` is documented as the URL string itself; an object with ``url`` is tolerated."""
    if isinstance(data, dict):
        data = data.get("url")
    if isinstance(data, str) and data:
        return data
    raise unexpected(DOWNLOAD_URL, "data is not a URL string")


def credits_of(data: Any) -> Decimal:
    if isinstance(data, dict):
        data = next((data[key] for key in ("credits", "credit") if key in data), None)
    if isinstance(data, (int, float, str)) and not isinstance(data, bool):
        try:
            value = Decimal(str(data))
        except InvalidOperation:
            value = None
        if value is not None and value.is_finite():
            return value
    raise unexpected(CREDIT, "data is not a number")


def status_of(task_id: str, data: Any) -> TaskStatus:
    """recordInfo ``data`` → TaskStatus: ``resultJson`` is a JSON *string* (decoded here); unknown states raise."""
    try:
        record = Record.model_validate(data)
    except ValidationError as error:
        raise unexpected(RECORD_INFO, "no readable task record", error) from None
    try:
        state = TaskState(record.state.strip().lower())
    except ValueError:
        raise unexpected(RECORD_INFO, f"unknown task state {record.state[:40]!r}") from None
    progress = _progress(record.progress)
    task = record.task_id or task_id
    cost = credits_consumed(record.credits_consumed)
    if state is TaskState.FAIL:
        return TaskStatus(
            task, state, fail_code=_text_or_none(record.fail_code), fail_message=_text_or_none(record.fail_msg),
            progress=progress, credits_consumed=cost,
        )
    if state is not TaskState.SUCCESS:
        return TaskStatus(task, state, progress=progress)
    result = _result(record)
    urls = tuple(result.result_urls or record.legacy_urls or ())
    return web_links_only(TaskStatus(task, state, result_urls=urls, result_text=render_result(result.result_object),
                                     progress=progress, credits_consumed=cost))


def web_links_only(status: TaskStatus) -> TaskStatus:
    """A success whose result links are not all http(s) (``file:``, ``ftp:``, ``javascript:`` … from an answer
    that is not KIE's, or a compromised one) becomes a failure: never delivered, refunded. Every API family."""
    refused = next((url for url in status.result_urls if not _web_link(url)), None)
    if status.state is not TaskState.SUCCESS or refused is None:
        return status
    scheme = refused.strip().partition(":")[0][:16] if ":" in refused else "none"
    return TaskStatus(status.task_id, TaskState.FAIL, fail_code=BAD_RESULT_LINK,
                      fail_message=f"KIE returned a result link that is not http(s) (scheme {scheme!r})",
                      credits_consumed=status.credits_consumed)


def _result(record: Record) -> ResultPayload:
    raw: Any = record.result_json
    try:
        for _ in range(2):  # tolerate one extra level of encoding
            if isinstance(raw, str):
                raw = json.loads(raw) if raw.strip() else None
        return ResultPayload.model_validate(raw or {})
    except json.JSONDecodeError:
        raise unexpected(RECORD_INFO, "resultJson is not valid JSON") from None
    except ValidationError as error:
        raise unexpected(RECORD_INFO, "resultJson has an unexpected shape", error) from None


def render_result(value: Any) -> str | None:
    """A structured result as readable text: ``resultObject.text`` (speech-to-text) when present, else lines."""
    if value is None or value == {} or value == []:
        return None
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return value["text"]
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(f"{key}: {_inline(item)}" for key, item in value.items())
    if isinstance(value, list):
        return "\n".join(_inline(item) for item in value)
    return str(value)


def _inline(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def credits_consumed(value: Any) -> Decimal | None:
    """recordInfo's creditsConsumed (a number, or its text) as exact credits; None when absent or nonsense."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        credits = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return credits if credits.is_finite() and credits >= 0 else None


def _web_link(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return False


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _progress(value: Any) -> int | None:
    return percent(value)


def percent(value: Any, *, fraction: bool = False) -> int | None:
    """A progress field as a percentage 0–100, or None when it is no number. With ``fraction``, values up to 1.0
    are a fraction of one (4o's and Runway's "0.00"–"1.00")."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number):
        return None
    if fraction and number <= 1.0:
        number *= 100
    return max(0, min(100, int(number)))
