"""The training template runs as a real job: torch trains on the CPU (or CUDA when visible) and the
checkpoint and metrics come back as downloadable outputs."""

import json

import pytest
from django.conf import settings

from tests.actors import api_client_for
from tests.scheduler.jobs.test_job_execution import final, fleet, log_text, submit  # noqa: F401 (fleet is a fixture)

pytestmark = pytest.mark.stack


def test_the_example_training_writes_a_checkpoint_and_metrics(fleet, researcher):  # noqa: F811
    script = settings.BASE_DIR / "examples" / "train.py"
    # Plain `python`: the default runtime environment is the shipped one, with torch.
    job = final(submit(researcher, command=f"python {script} --steps 40", time_limit="PT5M"), timeout=120)
    assert job.state == "succeeded", job.state_reason
    outputs = {o["path"]: o for o in api_client_for(researcher).get(f"/api/v1/jobs/{job.pk}/outputs/").json()}
    assert set(outputs) == {"model.pt", "metrics.json"}
    metrics = json.loads(b"".join(api_client_for(researcher).get(outputs["metrics.json"]["url"]).streaming_content))
    assert metrics["steps"] == 40 and metrics["accuracy"] > 0.6
    log = log_text(researcher, job)
    assert "device=cpu" in log and "visible='GPU-sim" in log
