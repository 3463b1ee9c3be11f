"""Logging keeps per-request library logs out of INFO: httpx would write every outgoing URL
(webhook URLs may carry their receiver's secret) and faststream every message."""

import logging

import httpx

from rivet_runtime.logging import configure_logging

QUIET = ("faststream", "uvicorn.access", "httpx")


def test_outgoing_request_urls_are_not_logged_at_info() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in QUIET}
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    try:
        configure_logging("test", "INFO", json=False)
        root.addHandler(Keep())
        transport = httpx.MockTransport(lambda request: httpx.Response(200))
        with httpx.Client(transport=transport) as client:
            client.post("https://hooks.example.com/services/T0/B0/s3cret?token=s3cret")
        assert logging.getLogger("faststream").getEffectiveLevel() >= logging.WARNING
    finally:
        root.handlers[:], level, levels = saved
        root.setLevel(level)
        for name, value in levels.items():
            logging.getLogger(name).setLevel(value)
    assert not [r for r in records if "s3cret" in r.getMessage()]
