"""Linking Telegram accounts to users, and resolving them for the bot."""
