"""Pages of jobs: the list (with queue position and reason while pending), the detail with the live
log, and the submit form. They translate HTTP to the same services and selectors as the API."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal.teams.models import Membership
from scheduler import access
from scheduler.durations import DurationError, parse_duration
from scheduler.job_actions import job_actions_for
from scheduler.models import ATTEMPT_LIVE_STATES, JobAllocation, JobState, Priority, RuntimeEnvironment
from scheduler.selectors.quotas import month_bounds, month_of, team_hours_in
from scheduler.services import jobs as job_services
from scheduler.services.environments import environment_default


@login_required
def job_list(request):
    jobs = access.jobs_visible_to(request.user).select_related("owner", "team")
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


@login_required
def job_detail(request, pk: int):
    job = access.access_job_for_user(request.user, pk)
    attempts = job.attempts.select_related("node").prefetch_related("allocations__gpu").order_by("number")
    may_cancel = job.owner_id == request.user.pk or access.may_administer_team(request.user, job.team_id)
    live = JobAllocation.objects.filter(attempt__job=job, attempt__state__in=ATTEMPT_LIVE_STATES).select_related(
        "gpu__node"
    )
    context = {
        "job": job,
        "attempts": attempts,
        "may_cancel": may_cancel,
        "live_allocations": live,
        "actions": job_actions_for(request.user, job),
    }
    return render(request, "scheduler/job_detail.html", context)


@login_required
def job_submit_page(request):
    memberships = Membership.objects.filter(user=request.user, is_researcher=True).select_related("team", "team__quota")
    if request.method == "POST":
        try:
            job = job_services.job_submit(user=request.user, **_submit_fields(request.POST))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                messages.error(request, f"{field}: {' '.join(errors)}")
        else:
            messages.success(request, f"Job {job.pk} submitted.")
            return redirect("job-detail", pk=job.pk)
    quotas = [_quota_line(m.team) for m in memberships]
    default_environment = environment_default()
    context = {
        "memberships": memberships,
        "quotas": quotas,
        "priorities": Priority.choices,
        "environments": RuntimeEnvironment.objects.all(),
        "chosen_environment": request.POST.get("environment", default_environment.name),
        "form": request.POST,
    }
    return render(request, "scheduler/job_submit.html", context)


def _submit_fields(post) -> dict:
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
    env = dict(line.split("=", 1) for line in post.get("env", "").splitlines() if "=" in line)
    return {
        "name": post.get("name", ""),
        "command": post.get("command", ""),
        "working_dir": post.get("working_dir", ""),
        "gpus": int(gpus),
        "time_limit": limit,
        "gpu_model": post.get("gpu_model", ""),
        "priority": post.get("priority", Priority.NORMAL),
        "preemptible": post.get("preemptible") == "on",
        "env": env,
        "environment": post.get("environment", ""),
        "team_id": int(post["team"]) if post.get("team", "").isdigit() else None,
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
