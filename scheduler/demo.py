"""Demo data of the GPU side for `make run`: the simulated fleet's inventory and one real training
job (examples/train.py), so a new user sees a finished job with its log and accounting. Idempotent."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from scheduler.gpu.backends import DEFAULT_SIM_FLEET, backend_for
from scheduler.models import Job
from scheduler.services.fleet import inventory_sync
from scheduler.services.jobs import job_submit

DEMO_JOB_LABEL = {"demo": "example-training"}


def demo_fleet_and_job_seed(**kwargs) -> None:
    _inventory_now()
    researcher = get_user_model().objects.filter(username="researcher").first()
    if researcher is None or Job.objects.filter(labels=DEMO_JOB_LABEL).exists():
        return
    try:
        job_submit(
            user=researcher,
            name="example-training",
            gpus=1,
            time_limit=timedelta(minutes=30),
            command="python examples/train.py --steps 300",  # `python` of the default environment (with torch)
            working_dir=str(settings.BASE_DIR),
            labels=DEMO_JOB_LABEL,
        )
    except ValidationError as exc:  # e.g. a configured work root that excludes the project folder
        print(f"demo job not submitted: {exc.messages}")


def _inventory_now() -> None:
    """Register the GPUs before the agent's first tick, so the demo job can be validated against them."""
    backend = backend_for(setting=settings.GPU_BACKEND, sim_fleet_spec=settings.SIM_FLEET or DEFAULT_SIM_FLEET)
    try:
        readings = backend.read_fleet() if backend.simulated else (backend.read(),)
        for reading in readings:
            inventory_sync(reading=reading)
    finally:
        backend.close()
