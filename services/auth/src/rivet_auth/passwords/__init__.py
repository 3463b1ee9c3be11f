"""Passwords: reset by a mailed one-time link, change knowing the current one."""
