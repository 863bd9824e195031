import pytest

from core.callbacks import MAX_CALLBACK_BYTES, CallbackData, CallbackDataError, decode, encode


def test_encoding_joins_tag_and_fields_with_colons():
    assert encode("set", "abc", 1, 2) == "set:abc:1:2"


def test_decoding_round_trips():
    assert decode(encode("model", "kling/v2-1-pro")) == CallbackData("model", ("kling/v2-1-pro",))


def test_oversized_payload_fails_when_the_button_is_built():
    with pytest.raises(CallbackDataError, match="64 bytes"):
        encode("model", "x" * MAX_CALLBACK_BYTES)


def test_multibyte_characters_count_as_bytes_not_characters():
    with pytest.raises(CallbackDataError):
        encode("model", "я" * 30)  # 60 bytes + "model:"


def test_a_field_with_a_separator_is_refused():
    with pytest.raises(CallbackDataError):
        encode("model", "a:b")


def test_wrong_field_count_is_refused_at_encoding():
    with pytest.raises(CallbackDataError):
        encode("launch")


@pytest.mark.parametrize(
    "data",
    ["", "unknown:1", "launch", "launch:a:b", "set:a:1", "model:", "x" * 65, "cat:image:1:2", "::", "menu:new:x"],
)
def test_unknown_or_malformed_data_decodes_to_none(data):
    assert decode(data) is None


def test_old_runbook_payload_cat_image_is_understood():
    assert decode("cat:image") == CallbackData("cat", ("image",))
