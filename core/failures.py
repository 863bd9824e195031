"""Why a generation failed, in the user's words: KIE's failCode / failMsg (English, technical) and our
own short codes mapped to a few reasons with texts in every language. The raw reason is for admins."""

from __future__ import annotations

# Our own codes (ports/generation.py GatewayError.code, the job runner's) → reason.
OWN_CODES = {
    "unavailable": "unavailable",
    "auth": "unavailable",  # the operator's key or credits: nothing the user can change
    "quota": "unavailable",
    "unknown_task": "lost",
    "timeout": "timeout",
    "refused_result": "bad_result",  # the messenger refused the result's link (job_runner.REFUSED_RESULT)
    "bad_result_link": "bad_result",  # KIE answered with a result link that is not http(s)
}

# KIE envelope / failCode values (shared/kie/KIE_API.md §7) → reason.
KIE_CODES = {
    "400": "bad_input",
    "408": "timeout",
    "413": "too_long",
    "422": "bad_input",
    "429": "busy",
    "455": "unavailable",
    "500": "service",
    "501": "service",
    "505": "service",
    "531": "service",
}

# Words in failMsg, checked in this order (content policy first: a flagged prompt often also says "invalid").
MESSAGE_WORDS = (
    ("content_policy", ("sensitive", "policy", "nsfw", "flagged", "moderation", "prohibited", "safety", "inappropriate", "violat")),
    ("file", ("fetch", "download", "image url", "file url", "unsupported format", "decode")),
    ("timeout", ("timeout", "timed out", "time out")),
    ("too_long", ("too long", "too large", "exceeds", "maximum length")),
    ("busy", ("rate limit", "too many requests", "overloaded", "busy")),
    ("unavailable", ("maintenance", "unavailable")),
    ("bad_input", ("invalid", "required", "not supported", "validation", "parameter")),
)


def failure_reason(code: str | None, message: str | None) -> str:
    """One of: content_policy, file, timeout, too_long, busy, unavailable, bad_input, service, lost, unknown."""
    code = (code or "").strip()
    if code in OWN_CODES:  # decided by the gateway adapter; its message is technical
        return OWN_CODES[code]
    text = (message or "").lower()
    for reason, words in MESSAGE_WORDS:
        if any(word in text for word in words):
            return reason
    if code in KIE_CODES:
        return KIE_CODES[code]
    return "bad_input" if code == "rejected" else "unknown"


def raw_reason(code: str | None, message: str | None) -> str:
    """What KIE said, as is (for admins)."""
    return " ".join(part for part in (code, message) if part) or "—"
