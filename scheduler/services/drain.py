"""Draining GPUs and nodes for maintenance (docs/decisions.md §9).

A drained GPU (or any GPU of a drained node) takes no new bookings or placements
(scheduler.selectors.fleet.gpus_placeable). The owners of the bookings the drain affects (active,
not yet ended) are notified; the admin sees the same list first
(scheduler.selectors.fleet.bookings_affected_by_drain).

Running jobs end normally unless the admin chooses `stop_running_jobs`: then every job with a live
attempt on the drained GPUs is cancelled through the ordinary cancel path (a database flag the
runner checks every second), with the reason "GPU drained by <admin>: <reason>"; its owner hears of
it through the job-ended notification, which carries that reason.
"""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from portal.audit.models import AuditEntry
from portal.audit.services import audit_record
from portal.notifications.services import notification_send
from portal.realtime.services import event_publish
from scheduler.models import Booking, Gpu, GpuState, Node
from scheduler.selectors.fleet import bookings_affected_by_drain, jobs_affected_by_drain
from scheduler.services.jobs import job_cancel

REASON_REQUIRED = "Give a reason: it is shown on the board and sent to the owners of affected bookings."
REASON_TOO_LONG = "Keep the reason under 500 characters."
STAFF_ONLY = "Only site admins drain or undrain GPUs and nodes."
NOTIFICATION_KIND = "booking_drain"
DRAIN_STOP_REASON = "{what} drained by {admin}: {reason}"


def _checked(*, by, reason: str | None) -> str:
    if not getattr(by, "is_staff", False):
        raise PermissionDenied(STAFF_ONLY)
    if reason is None:
        return ""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [REASON_REQUIRED]})
    if len(reason) > 500:
        raise ValidationError({"reason": [REASON_TOO_LONG]})
    return reason


@transaction.atomic
def gpu_drain(
    *, gpu: Gpu, by, reason: str, stop_running_jobs: bool = False, now: datetime | None = None
) -> list[Booking]:
    """Drain one GPU; returns the affected bookings, whose owners were notified."""
    reason = _checked(by=by, reason=reason if reason is not None else "")
    gpu = Gpu.objects.select_for_update().select_related("node").get(pk=gpu.pk)
    before = _gpu_state(gpu)
    gpu.drain_reason = reason
    if gpu.state != GpuState.LOST:  # a lost GPU stays lost; it comes back drained
        gpu.state = GpuState.DRAINED
    gpu.save(update_fields=["state", "drain_reason"])
    _audit_gpu(gpu, by=by, action=AuditEntry.Action.GPU_DRAIN, before=before, stop_running_jobs=stop_running_jobs)
    _publish_state(gpus=[gpu])
    if stop_running_jobs:
        _stop_jobs(gpu_ids=[gpu.id], what="GPU", by=by, reason=reason)
    return _notify_owners(gpu_ids=[gpu.id], what=str(gpu), reason=reason, now=now)


@transaction.atomic
def gpu_undrain(*, gpu: Gpu, by) -> Gpu:
    _checked(by=by, reason=None)
    gpu = Gpu.objects.select_for_update().select_related("node").get(pk=gpu.pk)
    before = _gpu_state(gpu)
    gpu.drain_reason = ""
    if gpu.state == GpuState.DRAINED:
        gpu.state = GpuState.AVAILABLE
    gpu.save(update_fields=["state", "drain_reason"])
    _audit_gpu(gpu, by=by, action=AuditEntry.Action.GPU_UNDRAIN, before=before)
    _publish_state(gpus=[gpu])
    return gpu


@transaction.atomic
def node_drain(
    *, node: Node, by, reason: str, stop_running_jobs: bool = False, now: datetime | None = None
) -> list[Booking]:
    """Drain a whole node: its GPUs keep their own state; the node's flag stops placements on all."""
    reason = _checked(by=by, reason=reason if reason is not None else "")
    before = _node_state(node)
    Node.objects.filter(pk=node.pk).update(drained=True, drain_reason=reason)
    node.refresh_from_db()
    _audit_node(node, by=by, action=AuditEntry.Action.NODE_DRAIN, before=before, stop_running_jobs=stop_running_jobs)
    gpus = list(node.gpus.select_related("node"))
    _publish_state(gpus=gpus)
    if stop_running_jobs:
        _stop_jobs(gpu_ids=[gpu.id for gpu in gpus], what="Node", by=by, reason=reason)
    return _notify_owners(gpu_ids=[gpu.id for gpu in gpus], what=node.name, reason=reason, now=now)


@transaction.atomic
def node_undrain(*, node: Node, by) -> Node:
    _checked(by=by, reason=None)
    before = _node_state(node)
    Node.objects.filter(pk=node.pk).update(drained=False, drain_reason="")
    node.refresh_from_db()
    _audit_node(node, by=by, action=AuditEntry.Action.NODE_UNDRAIN, before=before)
    _publish_state(gpus=list(node.gpus.select_related("node")))
    return node


def _gpu_state(gpu: Gpu) -> dict:
    return {"state": gpu.state, "drain_reason": gpu.drain_reason}


def _node_state(node: Node) -> dict:
    node = Node.objects.select_for_update().get(pk=node.pk)
    return {"drained": node.drained, "drain_reason": node.drain_reason}


def _audit_gpu(gpu: Gpu, *, by, action: str, before: dict, stop_running_jobs: bool = False) -> None:
    after = _gpu_state(gpu) | ({"stop_running_jobs": True} if stop_running_jobs else {})
    audit_record(
        actor=by, action=action, target_type="gpu", target_id=gpu.pk, target=str(gpu), before=before, after=after
    )


def _audit_node(node: Node, *, by, action: str, before: dict, stop_running_jobs: bool = False) -> None:
    after = _node_state(node) | ({"stop_running_jobs": True} if stop_running_jobs else {})
    audit_record(
        actor=by, action=action, target_type="node", target_id=node.pk, target=node.name, before=before, after=after
    )


def _stop_jobs(*, gpu_ids: list[int], what: str, by, reason: str) -> list:
    """Cancel the jobs running on the drained GPUs, as a cancel by the admin would, with the drain's reason."""
    jobs = list(jobs_affected_by_drain(gpu_ids=gpu_ids))
    for job in jobs:
        job_cancel(job=job, by=by, reason=DRAIN_STOP_REASON.format(what=what, admin=by.username, reason=reason))
    return jobs


def _notify_owners(*, gpu_ids: Iterable[int], what: str, reason: str, now: datetime | None) -> list[Booking]:
    affected = list(bookings_affected_by_drain(gpu_ids=gpu_ids, now=now or timezone.now()))
    for booking in affected:
        notification_send(
            user=booking.user,
            kind=NOTIFICATION_KIND,
            title=f"Your booking {booking.id} is affected: {what} was drained",
            body=f"Reason: {reason}",
            url="/bookings/",
        )
    return affected


def _publish_state(*, gpus: list[Gpu]) -> None:
    """Tell open boards at once; the agent's next tick would not carry drain state."""
    payload = [
        {
            "id": gpu.id,
            "state": gpu.state,
            "reason": gpu.drain_reason,
            "node_drained": gpu.node.drained,
            "node_reason": gpu.node.drain_reason,
        }
        for gpu in gpus
    ]
    event_publish(topic="public", kind="gpu.state", payload={"gpus": payload})
