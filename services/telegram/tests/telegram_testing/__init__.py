"""Test support for the Telegram service: a fake Bot API server and a harness around the bot."""
