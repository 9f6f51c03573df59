"""Guards: what stands between a matched rule and an automatic run (rate limits, cooldowns,
throttles, blast radius, the kill switch). Per-target concurrency is enforced at claim time
by the runs domain."""
