"""/metrics per served model version (docs/models.md "Serving"): requests and errors counted from the
prediction requests, inference time and round trip at p50 and p95 over the recent window."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from training.models import ModelVersion, PredictionRequest, PredictionState, RegisteredModel

pytestmark = pytest.mark.django_db


def _requests(version, team, *, inference: list[float], failed: int = 0, queued: int = 0, old: int = 0):
    now = timezone.now()
    for index, ms in enumerate(inference):
        row = PredictionRequest.objects.create(
            team=team, model_version=version, state=PredictionState.SUCCEEDED, inference_ms=ms
        )
        # Round trip = inference + 10 ms + index ms: known numbers to check against.
        PredictionRequest.objects.filter(pk=row.pk).update(
            created_at=now - timedelta(milliseconds=ms + 10 + index), finished_at=now
        )
    for _ in range(failed):
        PredictionRequest.objects.create(team=team, model_version=version, state=PredictionState.FAILED)
    for _ in range(queued):
        PredictionRequest.objects.create(team=team, model_version=version)
    for _ in range(old):  # finished before the window: counted, not timed
        row = PredictionRequest.objects.create(
            team=team, model_version=version, state=PredictionState.SUCCEEDED, inference_ms=9999
        )
        PredictionRequest.objects.filter(pk=row.pk).update(finished_at=now - timedelta(days=1))


def test_metrics_report_each_served_version(client, team_a, settings):
    settings.METRICS_TOKEN = ""
    model = RegisteredModel.objects.create(team=team_a, name="strip-detector", last_version_number=2)
    first = ModelVersion.objects.create(model=model, number=1, format="torch_state_dict")
    second = ModelVersion.objects.create(model=model, number=2, format="torch_state_dict")
    _requests(first, team_a, inference=[float(n) for n in range(1, 21)], failed=2, queued=1, old=3)
    _requests(second, team_a, inference=[], queued=1)

    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("atelier_predict_")
    }

    def value(name, version, quantile=None):
        labels = {"team": team_a.name, "model": "strip-detector", "version": str(version)}
        if quantile:
            labels["quantile"] = quantile
        return samples.get((name, tuple(sorted(labels.items()))))

    assert value("atelier_predict_requests", 1) == 26
    assert value("atelier_predict_errors", 1) == 2
    # 20 timed requests of 1..20 ms: nearest rank p50 is the 10th, p95 the 19th.
    assert value("atelier_predict_inference_ms", 1, "0.5") == 10
    assert value("atelier_predict_inference_ms", 1, "0.95") == 19
    # Round trip of the i-th (0-based) is (i + 1) + 10 + i ms: the 10th is 29, the 19th 47.
    assert value("atelier_predict_latency_ms", 1, "0.5") == 29
    assert value("atelier_predict_latency_ms", 1, "0.95") == 47
    assert value("atelier_predict_requests", 2) == 1 and value("atelier_predict_errors", 2) == 0
    assert value("atelier_predict_inference_ms", 2, "0.5") is None  # nothing finished: absent, not 0
