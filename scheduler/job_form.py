"""The job fields of a submit form, read from a POST the same way wherever a page submits a job (the
job submit page; training's "train on this version" page)."""

from django.core.exceptions import ValidationError

from scheduler.durations import DurationError, parse_duration
from scheduler.models import Priority


def job_fields_from_post(post) -> dict:
    """The fields every submitted job has, or ValidationError naming each field that does not parse."""
    errors = {}
    gpus = post.get("gpus", "1")
    if not gpus.isdigit():
        errors["gpus"] = ["Give a whole number of GPUs."]
    try:
        limit = parse_duration(post.get("time_limit", ""))
    except DurationError as exc:
        errors["time_limit"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return {
        "name": post.get("name", ""),
        "command": post.get("command", ""),
        "gpus": int(gpus),
        "time_limit": limit,
        "gpu_model": post.get("gpu_model", ""),
        "priority": post.get("priority", Priority.NORMAL),
        "preemptible": post.get("preemptible") == "on",
        "multi_node": post.get("multi_node") == "on",
        "environment": post.get("environment", ""),
    }
