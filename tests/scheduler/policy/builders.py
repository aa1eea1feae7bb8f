"""Small builders shared by the policy tests: clusters, jobs and bookings in a line each."""

from scheduler.policy.types import Booking, Gpu, PendingJob, RunningJob

HOUR = 3600.0


def cluster(nodes: int = 2, per_node: int = 4, model: str = "A100", memory_mb: int = 40_000, down: tuple = ()) -> tuple:
    """GPUs named like 'n0g1' on nodes 'n0', 'n1', ...; nodes listed in `down` are unusable."""
    return tuple(
        Gpu(id=f"n{n}g{i}", node=f"n{n}", model=model, memory_mb=memory_mb, usable=f"n{n}" not in down)
        for n in range(nodes)
        for i in range(per_node)
    )


def job(job_id, gpus: int = 1, team: str = "vision", submit: float = 0.0, hours: float = 1.0, **extra) -> PendingJob:
    return PendingJob(id=job_id, team=team, gpus=gpus, submit=submit, time_limit=hours * HOUR, **extra)


def running(
    job_id, gpu_ids: tuple, team: str = "vision", start: float = 0.0, hours: float = 1.0, **extra
) -> RunningJob:
    return RunningJob(id=job_id, team=team, gpus=tuple(gpu_ids), start=start, end_by=start + hours * HOUR, **extra)


def booking(booking_id, gpu_ids: tuple, team: str = "nlp", start_h: float = 0.0, end_h: float = 1.0) -> Booking:
    return Booking(id=booking_id, team=team, gpus=tuple(gpu_ids), start=start_h * HOUR, end=end_h * HOUR)
