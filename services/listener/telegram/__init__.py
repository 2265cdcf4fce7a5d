"""The Telegram message source: Telethon, chat resolution, catch-up after gaps, FloodWait."""
