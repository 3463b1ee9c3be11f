"""Web app metrics. ``/metrics`` needs no token, so nothing here names an organization."""

from prometheus_client import Counter, Gauge

PAGES = Counter(
    "rivet_web_pages_total",
    "Pages and actions served, by page and outcome (ok, client_error, signed_out, api_down).",
    ["page", "outcome"],
)
API_FAILURES = Counter(
    "rivet_web_api_failures_total",
    "Calls to the API that failed without an answer of the API's own (unreachable, timed "
    "out, 5xx): the people see an error page.",
    ["reason"],
)
LIVE_CONNECTIONS = Gauge("rivet_web_live_connections", "Live pages (server-sent events) open now.")
LIVE_EVENTS = Counter("rivet_web_live_events_total", "Events sent to live pages.")
LIVE_RESYNCS = Counter(
    "rivet_web_live_resyncs_total",
    "Reconnected live pages told to reload their data because the events they missed were no "
    "longer held (another replica, a restart, or more than WEB_LIVE_BUFFER events).",
)
