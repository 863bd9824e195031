"""Why a generation failed, in the user's words: KIE's failCode / failMsg (English, technical) and our
own short codes mapped to a few reasons with texts in every language. The raw reason is for admins."""

from __future__ import annotations

# Our own codes (ports/generation.py GatewayError.code, the job runner's) → reason.
OWN_CODES = {
    "unavailable": "busy",
    "auth": "service",
    "quota": "service",
    "unknown_task": "lost",
    "timeout": "timeout",
}

# KIE envelope / failCode values (shared/kie/KIE_API.md §7) → reason.
KIE_CODES = {
    "400": "bad_input",
    "408": "timeout",
    "413": "too_long",
    "422": "bad_input",
    "429": "busy",
    "455": "busy",
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
    ("busy", ("rate limit", "too many requests", "maintenance", "overloaded", "busy")),
    ("bad_input", ("invalid", "required", "not supported", "validation", "parameter")),
)


def failure_reason(code: str | None, message: str | None) -> str:
    """One of: content_policy, file, timeout, too_long, busy, bad_input, service, lost, unknown."""
    text = (message or "").lower()
    for reason, words in MESSAGE_WORDS:
        if any(word in text for word in words):
            return reason
    code = (code or "").strip()
    if code in OWN_CODES:
        return OWN_CODES[code]
    if code in KIE_CODES:
        return KIE_CODES[code]
    return "bad_input" if code == "rejected" else "unknown"


def raw_reason(code: str | None, message: str | None) -> str:
    """What KIE said, as is (for admins)."""
    return " ".join(part for part in (code, message) if part) or "—"
