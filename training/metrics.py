"""Served models on /metrics (scheduler/metrics.py calls this through register_metrics): per team, model
and version, requests and errors since the requests were kept, and inference time and round trip
(request received to answer written) at p50 and p95 over the last ATELIER_PREDICT_METRICS_WINDOW
seconds."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from prometheus_client import CollectorRegistry, Gauge

from training.selectors.serving import served_version_stats

LABELS = ("team", "model", "version")


def served_models_metrics(registry: CollectorRegistry) -> None:
    requests = Gauge("atelier_predict_requests", "Predict requests received.", LABELS, registry=registry)
    errors = Gauge("atelier_predict_errors", "Predict requests that failed in the worker.", LABELS, registry=registry)
    inference = Gauge(
        "atelier_predict_inference_ms",
        "Inference time of recent predict requests (ms), at a quantile.",
        (*LABELS, "quantile"),
        registry=registry,
    )
    latency = Gauge(
        "atelier_predict_latency_ms",
        "Request to answer of recent predict requests (ms, queue and image decode included), at a quantile.",
        (*LABELS, "quantile"),
        registry=registry,
    )
    since = timezone.now() - timedelta(seconds=settings.PREDICT_METRICS_WINDOW)
    for row in served_version_stats(since=since):
        labels = (row.team, row.model, str(row.version))
        requests.labels(*labels).set(row.requests)
        errors.labels(*labels).set(row.errors)
        for quantile, value, gauge in (
            ("0.5", row.inference_p50, inference),
            ("0.95", row.inference_p95, inference),
            ("0.5", row.latency_p50, latency),
            ("0.95", row.latency_p95, latency),
        ):
            if value is not None:
                gauge.labels(*labels, quantile).set(value)
