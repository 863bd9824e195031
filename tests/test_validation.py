from core.validation import Problem, problems
from tests.builders import IMAGE_TO_VIDEO, TEXT_TO_IMAGE

GOOD_VIDEO = {"image_url": "https://x/a.png", "prompt": "go", "duration": "5", "sound": False}


def test_a_complete_payload_has_no_problems():
    assert problems(IMAGE_TO_VIDEO, GOOD_VIDEO) == []


def test_missing_required_fields_are_named():
    assert problems(IMAGE_TO_VIDEO, {"duration": "5"}) == [Problem("image_url", "missing"), Problem("prompt", "missing")]


def test_values_outside_the_catalog_are_refused():
    payload = {**GOOD_VIDEO, "duration": "7", "sound": "yes", "extra": 1}
    assert problems(IMAGE_TO_VIDEO, payload) == [
        Problem("duration", "not_allowed"), Problem("sound", "not_allowed"), Problem("extra", "not_allowed"),
    ]


def test_a_prompt_over_its_limit_is_too_long():
    payload = {"prompt": "x" * 101, "aspect_ratio": "1:1", "resolution": "1K", "enable_safety_checker": True}
    assert problems(TEXT_TO_IMAGE, payload) == [Problem("prompt", "too_long")]


def test_file_inputs_must_be_uploaded_urls():
    assert problems(IMAGE_TO_VIDEO, {**GOOD_VIDEO, "image_url": "/etc/passwd"}) == [Problem("image_url", "not_a_url")]
    assert problems(IMAGE_TO_VIDEO, {**GOOD_VIDEO, "image_url": ["https://x/a.png"]}) == [Problem("image_url", "not_a_url")]
