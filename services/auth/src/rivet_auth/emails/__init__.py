"""Proving an e-mail address: a six-digit code mailed to it."""
