from core.drafts import (
    PROMPT_HARD_LIMIT,
    NeedMedia,
    NeedPrompt,
    PromptError,
    Ready,
    build_input,
    clean_prompt,
    current_options,
    draft_from_input,
    media_slot,
    next_step,
    set_option,
)
from ports.catalog import InputKind
import pytest

from tests.builders import IMAGE_TO_VIDEO, TEXT_TO_IMAGE, draft


def test_a_text_model_asks_for_the_prompt_first():
    assert next_step(TEXT_TO_IMAGE, draft()) == NeedPrompt(TEXT_TO_IMAGE.inputs[0])


def test_a_model_that_needs_a_photo_asks_for_it_before_the_prompt():
    assert next_step(IMAGE_TO_VIDEO, draft(IMAGE_TO_VIDEO)) == NeedMedia(IMAGE_TO_VIDEO.inputs[0], 0)


def test_with_photo_and_prompt_the_draft_is_ready():
    full = draft(IMAGE_TO_VIDEO, media={"image_url": ("file:///a.png",)}, prompt="go")
    assert next_step(IMAGE_TO_VIDEO, full) == Ready()


def test_a_photo_has_no_slot_in_a_text_only_model():
    assert media_slot(TEXT_TO_IMAGE, draft(), InputKind.IMAGE) is None


def test_prompt_is_trimmed_and_length_checked():
    spec = TEXT_TO_IMAGE.prompt
    assert clean_prompt(spec, "  cat  ") == "cat"
    with pytest.raises(PromptError) as error:
        clean_prompt(spec, "x" * 101)
    assert error.value.key == "input.prompt_too_long" and error.value.fields == {"length": 101, "max": 100}
    with pytest.raises(PromptError):
        clean_prompt(spec, "   ")


def test_prompt_limit_never_exceeds_telegrams_message_size():
    assert PROMPT_HARD_LIMIT == 4000


def test_every_field_is_sent_explicitly_with_defaults():
    payload = build_input(TEXT_TO_IMAGE, draft(prompt="cat"))
    assert payload == {"prompt": "cat", "aspect_ratio": "1:1", "resolution": "1K", "enable_safety_checker": True}


def test_single_url_inputs_are_strings_and_options_keep_their_types():
    full = draft(IMAGE_TO_VIDEO, media={"image_url": ("file:///a.png",)}, prompt="go", options={"sound": True})
    assert build_input(IMAGE_TO_VIDEO, full) == {
        "image_url": "file:///a.png", "prompt": "go", "duration": "5", "sound": True,
    }


def test_setting_an_option_by_index_changes_only_that_option():
    changed = set_option(IMAGE_TO_VIDEO, draft(IMAGE_TO_VIDEO), 1, 0)  # sound → True
    assert current_options(IMAGE_TO_VIDEO, changed) == {"duration": "5", "sound": True}


def test_stale_option_indices_are_refused():
    assert set_option(IMAGE_TO_VIDEO, draft(IMAGE_TO_VIDEO), 7, 0) is None
    assert set_option(IMAGE_TO_VIDEO, draft(IMAGE_TO_VIDEO), 0, 9) is None


def test_a_job_input_gives_back_the_same_draft_contents():
    original = draft(IMAGE_TO_VIDEO, media={"image_url": ("file:///a.png",)}, prompt="go", options={"duration": "10", "sound": True})
    rebuilt = draft_from_input(IMAGE_TO_VIDEO, draft(IMAGE_TO_VIDEO, id="d2"), build_input(IMAGE_TO_VIDEO, original))
    assert (rebuilt.media, rebuilt.prompt, dict(rebuilt.options)) == (original.media, original.prompt, dict(original.options))
