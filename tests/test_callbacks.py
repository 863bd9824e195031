import pytest

from core.callbacks import MAX_CALLBACK_BYTES, CallbackData, CallbackDataError, decode, encode, int_field
from tests.harness import running_bot


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


@pytest.mark.parametrize("value, expected", [("0", 0), ("7", 7), ("42", 42), ("999999", 999999)])
def test_an_integer_field_written_as_encode_writes_it_decodes(value, expected):
    assert int_field(value) == expected
    assert str(int_field(value)) == value  # round trip: the number encodes back to the same text


@pytest.mark.parametrize(
    "value", ["", "²", "①", "1²", "٣", "１２", "007", "00", "+1", "-1", " 1", "1 ", "1_000", "1000000", "0x1", "1.0"]
)
def test_an_integer_field_that_does_not_round_trip_exactly_is_refused(value):
    assert int_field(value) is None


@pytest.mark.parametrize("data", ["history:²", "cat:image:①", "opt:abc:²", "set:abc:1:①", "stars:٣", "mamt:00500", "history:01"])
async def test_callback_data_with_odd_digits_gets_the_menu_updated_answer(tmp_path, data):
    async with running_bot(tmp_path) as bot:
        await bot.send("/start")
        outcome = await bot.press_data(data, message_id=1)
        assert outcome.rejected == "UNKNOWN_CALLBACK"
        assert bot.chat.toasts[-1] == "Меню обновилось"
