"""Rivet API gateway: HTTP in, NATS request-reply out."""
