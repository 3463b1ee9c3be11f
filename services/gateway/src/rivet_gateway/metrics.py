"""The gateway's own metrics (beside the runtime's RED metrics): its rate limits."""

from prometheus_client import Counter, Gauge

RATE_LIMITED = Counter(
    "rivet_gateway_rate_limited",
    "Requests the gateway refused (429) for a rate limit, by the limit's kind "
    "(user, api_key, address).",
    ["kind"],
)
RATE_LIMIT_LEASES = Counter(
    "rivet_gateway_rate_limit_leases",
    "Leases of requests taken for callers, by where their buckets were (shared: the NATS "
    "key-value bucket; local: this replica's memory, while the shared one does not answer).",
    ["store"],
)
RATE_LIMIT_CONTENDED = Counter(
    "rivet_gateway_rate_limit_contended",
    "Leases given up after other replicas wrote the same caller's key before each attempt "
    "(the requests waiting for it lease again).",
)
RATE_LIMIT_STORE_FAILURES = Counter(
    "rivet_gateway_rate_limit_store_failures",
    "Leases the shared rate-limit bucket did not give (timeout, NATS or JetStream away); the "
    "replica then limits on its own for a few seconds.",
)
RATE_LIMIT_STORE_UP = Gauge(
    "rivet_gateway_rate_limit_store_up",
    "0 while this replica limits on its own because the shared rate-limit bucket does not "
    "answer; 1 otherwise.",
)
