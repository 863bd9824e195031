"""What every peer bot shows, so all targets do the same work: /start answers a text with an inline keyboard of
three buttons; a press answers the callback query and edits that message (new text, same keyboard). Standard
library only: imported by the PTB peer (project environment) and the aiogram peer (its own venv)."""

START_TEXT = "Привет! Выберите раздел:"
BUTTONS = (("🎨 Картинки и дизайн", "section:images"), ("🎬 Видео", "section:video"), ("💰 Баланс", "balance"))
ROWS = ((0, 1), (2,))


def pressed_text(data: str) -> str:
    return f"Раздел: {data}. Выберите модель:"
