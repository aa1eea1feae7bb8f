"""Pages of jobs: the list (with queue position and reason while pending), the detail with the live
log, and the submit form. They translate HTTP to the same services and selectors as the API."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import OuterRef, Subquery, Sum
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal.teams.models import Membership
from scheduler import access
from scheduler.durations import format_duration
from scheduler.job_actions import job_actions_for
from scheduler.job_form import job_fields_from_post
from scheduler.models import ATTEMPT_LIVE_STATES, Attempt, JobAllocation, JobState, Priority, RuntimeEnvironment
from scheduler.selectors import jobs as job_selectors
from scheduler.selectors.bookings import bookings_to_run_in
from scheduler.selectors.fleet import gpu_models
from scheduler.selectors.quotas import month_bounds, month_of, team_hours_in
from scheduler.services import jobs as job_services
from scheduler.services.environments import environment_default


@login_required
def job_list(request):
    jobs = access.jobs_visible_to(request.user).select_related("owner", "team").annotate(gpu_seconds=_gpu_seconds())
    scope = request.GET.get("scope", "team")
    if scope == "mine":
        jobs = jobs.filter(owner=request.user)
    if state := request.GET.get("state"):
        jobs = jobs.filter(state=state)
    if user := request.GET.get("user"):
        jobs = jobs.filter(owner__username=user)
    if node := request.GET.get("node"):
        jobs = jobs.filter(attempts__node__name=node).distinct()
    context = {"jobs": jobs[:300], "scope": scope, "states": JobState.choices, "filters": request.GET}
    template = "scheduler/job_rows.html" if request.GET.get("fragment") else "scheduler/job_list.html"
    return render(request, template, context)


def _gpu_seconds():
    """A job's GPU-seconds over its attempts, as a subquery: a join would count twice under the node filter."""
    per_job = Attempt.objects.filter(job=OuterRef("pk")).order_by().values("job").annotate(total=Sum("gpu_seconds"))
    return Subquery(per_job.values("total"))


@login_required
def job_detail(request, pk: int):
    job = access.access_job_for_user(request.user, pk)
    attempts = job.attempts.select_related("node").prefetch_related("allocations__gpu__node").order_by("number")
    story = {"job": job, "attempts": attempts, "gpu_seconds": sum(attempt.gpu_seconds for attempt in attempts)}
    if request.GET.get("fragment"):
        # The page reads this on every job event and every 10 s while the job runs: only what it shows,
        # none of the page's own reads (the outputs folder, live allocations, actions).
        return render(request, "scheduler/job_live.html", story)
    may_cancel = job.owner_id == request.user.pk or access.may_administer_team(request.user, job.team_id)
    live = JobAllocation.objects.filter(attempt__job=job, attempt__state__in=ATTEMPT_LIVE_STATES).select_related(
        "gpu__node"
    )
    latest = attempts[len(attempts) - 1] if attempts else None
    context = story | {
        "gpu_chart": _gpu_chart(attempts),
        "outputs": job_selectors.job_outputs(job=job),
        "latest_attempt": latest,  # rank 0 of a multi-node attempt runs on the attempt's own node
        "part_logs": job_selectors.attempt_part_logs(attempt=latest),
        "may_cancel": may_cancel,
        "live_allocations": live,
        "actions": job_actions_for(request.user, job),
    }
    return render(request, "scheduler/job_detail.html", context)


def _gpu_chart(attempts) -> dict | None:
    """What the job page's GPU chart reads: the latest started attempt's GPUs over its life."""
    started = [attempt for attempt in attempts if attempt.started_at is not None]
    if not started:
        return None
    attempt = started[-1]
    gpus = [allocation.gpu for allocation in attempt.allocations.all()]
    return {
        "start": attempt.started_at.isoformat(),
        "end": attempt.ended_at.isoformat() if attempt.ended_at else None,
        "gpus": [
            {"label": f"{gpu.node.name}/gpu{gpu.index}", "url": reverse("api-gpu-metrics", args=[gpu.pk])}
            for gpu in gpus
        ],
    }


@login_required
def job_submit_page(request):
    memberships = Membership.objects.filter(user=request.user, is_researcher=True).select_related("team", "team__quota")
    errors = {}
    if request.method == "POST":
        try:
            job = job_services.job_submit(user=request.user, **_submit_fields(request.POST))
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, f"Job {job.pk} submitted.")
            return redirect("job-detail", pk=job.pk)
    quotas = [_quota_line(m.team) for m in memberships]
    form = request.POST if request.method == "POST" else _form_again(request)
    context = {
        "memberships": memberships,
        "quotas": quotas,
        "priorities": Priority.choices,
        "environments": RuntimeEnvironment.objects.all(),
        "chosen_environment": form.get("environment") or environment_default().name,
        "form": form,
        "errors": errors,
        "other_errors": [(FIELD_LABELS.get(f, f), " ".join(e)) for f, e in errors.items() if f not in FORM_FIELDS],
        "gpu_models": gpu_models(),
        "bookings": bookings_to_run_in(user=request.user, now=timezone.now()),
    }
    return render(request, "scheduler/job_submit.html", context)


# Fields the form shows its errors beside; errors of any other field go above the form, named in words.
FORM_FIELDS = {
    "team",
    "name",
    "command",
    "environment",
    "working_dir",
    "gpus",
    "gpu_model",
    "time_limit",
    "priority",
    "env",
    "booking",
    "multi_node",
}
FIELD_LABELS = {"min_memory_mb": "Minimum GPU memory", "multi_node": "Nodes", NON_FIELD_ERRORS: "This job"}


def _form_again(request) -> dict:
    """ "Run again": the form filled in from an earlier job the person may see (`?from=<id>`)."""
    source = request.GET.get("from", "")
    if not source.isdigit():
        return {}
    job = access.access_job_for_user(request.user, int(source))
    return {
        "name": job.name,
        "command": job.command,
        "working_dir": job.working_dir,
        "gpus": job.gpus,
        "gpu_model": job.gpu_model,
        "time_limit": format_duration(job.time_limit_s),
        "priority": job.priority,
        "preemptible": "on" if job.preemptible else "",
        "multi_node": "on" if job.multi_node else "",
        "env": "\n".join(f"{name}={value}" for name, value in job.env.items()),
        "environment": job.environment.name if job.environment else "",
        "team": str(job.team_id),
        "booking": str(job.booking_id or ""),
    }


def _submit_fields(post) -> dict:
    env = dict(line.split("=", 1) for line in post.get("env", "").splitlines() if "=" in line)
    return job_fields_from_post(post) | {
        "working_dir": post.get("working_dir", ""),
        "env": env,
        "team_id": int(post["team"]) if post.get("team", "").isdigit() else None,
        "booking_id": int(post["booking"]) if post.get("booking", "").isdigit() else None,
    }


def _quota_line(team) -> dict:
    if not hasattr(team, "quota"):
        return {"team": team, "quota": None}  # no quota row: no team limits (docs/scheduling.md)
    lo, hi = month_bounds(month_of(timezone.now()))
    used = team_hours_in(team_id=team.pk, lo=lo, hi=hi)
    quota = float(team.quota.gpu_hours_per_month)
    return {
        "team": team,
        "used": round(used, 1),
        "quota": quota,
        "remaining": round(max(quota - used, 0), 1),
        "limit_h": team.quota.max_booking_hours,
    }


@login_required
@require_POST
def job_cancel_page(request, pk: int):
    """POST from the detail page's cancel button (the page's script uses the API; this is the no-JS path)."""
    job = access.access_job_to_cancel(request.user, pk)
    try:
        job_services.job_cancel(job=job, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("job-detail", pk=pk)
