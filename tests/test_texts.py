import string

from core.texts import en, ru


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_have_the_same_keys():
    assert set(ru.TEXTS) ^ set(en.TEXTS) == set()


def test_translations_use_the_same_placeholders():
    assert {k: placeholders(v) for k, v in ru.TEXTS.items()} == {k: placeholders(v) for k, v in en.TEXTS.items()}


def test_no_text_is_empty():
    assert [k for k, v in {**ru.TEXTS, **en.TEXTS}.items() if not v.strip()] == []
