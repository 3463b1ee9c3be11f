"""Create-or-match: when is a new record the same physical asset as an existing one?"""
