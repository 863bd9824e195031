"""Start the bot on Telegram (webhook or polling, per BOT_MODE). Render's start command:
``python main_render.py``. Configuration: environment variables or a .env file (README.md)."""

import sys

from entrypoints.server import main

if __name__ == "__main__":
    sys.exit(main())
