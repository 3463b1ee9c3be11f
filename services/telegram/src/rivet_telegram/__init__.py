"""Rivet Telegram bot."""
