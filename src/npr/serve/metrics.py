"""Prometheus metrics of the server, named as vLLM names them where it has the same metric (``npr:`` for ``vllm:``).

Every server owns its registry (no process-wide default registry), so two servers in one process - as in the
tests - never mix their counts.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0)


class Metrics:
    def __init__(self, model_name: str):
        self.registry = CollectorRegistry(auto_describe=True)
        r, labels = self.registry, ["model_name"]

        def gauge(name, doc):
            return Gauge(name, doc, labels, registry=r).labels(model_name)

        def counter(name, doc):
            return Counter(name, doc, labels, registry=r).labels(model_name)

        self.running = gauge("npr:num_requests_running", "Requests decoding now (each choice is one request).")
        self.waiting = gauge("npr:num_requests_waiting", "Requests queued for admission.")
        self.kv_usage = gauge("npr:kv_cache_usage_perc", "Share of KV slots in use (1 = full), prefix cache included.")
        self.prompt_tokens = counter("npr:prompt_tokens", "Prompt tokens of admitted requests.")
        self.generation_tokens = counter("npr:generation_tokens", "Response tokens generated, all branches counted.")
        self.forks = counter("npr:forks", "Blocks forked into branches.")
        self.branches = counter("npr:branches", "Branches forked.")
        self.preemptions = counter("npr:num_preemptions", "Requests preempted for KV room (they restart).")
        self._success = Counter("npr:request_success", "Finished requests by reason.", ["model_name", "finished_reason"],
                                registry=r)  # fmt: skip
        self.model_name = model_name
        self.e2e = Histogram("npr:e2e_request_latency_seconds", "Time from submission to the last token.", labels,
                             buckets=_LATENCY, registry=r).labels(model_name)  # fmt: skip
        self.ttft = Histogram("npr:time_to_first_token_seconds", "Time from submission to the first token.", labels,
                              buckets=_LATENCY, registry=r).labels(model_name)  # fmt: skip

    def finished(self, reason: str) -> None:
        self._success.labels(self.model_name, reason).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
