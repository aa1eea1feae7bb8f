"""Pages of the GPU fleet: the live board, a GPU's charts, and the drain confirmation (site admins)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from scheduler.board_html import card_html, node_html
from scheduler.gpu.rogue import UNMATCHED
from scheduler.models import Gpu, Node
from scheduler.selectors import fleet as fleet_selectors
from scheduler.selectors.telemetry import CHART_RANGES, gpu_recent_processes
from scheduler.services import drain

ROGUE_TEXT = {
    "unowned": "no running job owns this process",
    "wrong_gpu": "the job's process runs on a GPU not allocated to it",
}


def _board_filters(request) -> dict:
    get = request.GET
    state = get.get("state", "")
    return {
        "node": get.get("node", "").strip(),
        "model": get.get("model", "").strip(),
        "state": state if state in fleet_selectors.BOARD_STATES else "",
        "free_now": get.get("free_now") in ("1", "on", "true"),
    }


@login_required
def gpu_board(request):
    filters = _board_filters(request)
    now = timezone.now()
    rows = fleet_selectors.board_rows(now=now, **filters)
    prefix, staff = reverse("gpu-board"), request.user.is_staff
    sections = []
    for row in rows:
        heartbeat_age = (now - row.node.last_heartbeat).total_seconds() if row.node.last_heartbeat else None
        cards = "".join(
            card_html(_card(gpu, row.node), node_id=row.node.id, prefix=prefix, staff=staff) for gpu in row.gpus
        )
        drain_url = reverse("node-drain", args=[row.node.id])
        sections.append(node_html(row, cards=cards, heartbeat_age=heartbeat_age, drain_url=drain_url, staff=staff))
    page = {
        "nodeDownAfter": fleet_selectors.node_down_after().total_seconds(),
        "rogueText": ROGUE_TEXT,
        "staff": request.user.is_staff,
    }
    context = {
        "sections": mark_safe("\n".join(sections)),  # nosec B308 B703 # joins board_html's escaped SafeStrings
        "filters": filters,
        "choices": fleet_selectors.board_filter_choices(),
        "simulated": fleet_selectors.fleet_simulated(),
        "page_data": page,
        "gpu_total": sum(len(row.gpus) for row in rows),
    }
    return render(request, "scheduler/gpu_board.html", context)


def _na(value, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value}{suffix}"


def _card(gpu: dict, node) -> dict:
    """Display strings of one GPU card (n/a for what the GPU does not report); `gpu` is a board row."""
    board_state = gpu["board_state"]
    if board_state == "drained":
        state_label = f"drained: {gpu['drain_reason'] or node.drain_reason}"
    else:
        state_label = "node down" if board_state == "node_down" else board_state
    util, power, processes = gpu["util_gpu_pct"], gpu["power_w"], gpu["processes"]
    now, upcoming = gpu["bookings"].get("now"), gpu["bookings"].get("next")
    return {
        "id": gpu["id"],
        "index": gpu["index"],
        "model": gpu["model"],
        "state": board_state,
        "state_label": state_label,
        "drainable": gpu["state"] != "drained",
        "util": _na(util, "%"),
        "util_value": util or 0,
        "mem": _na(gpu["memory_used_mb"]),
        "mem_total": gpu["memory_total_mb"],
        "temp": _na(gpu["temperature_c"], " °C"),
        "power": "n/a" if power is None else f"{power:.0f} W",
        "spark": gpu["spark_json"] or "{}",
        "rogue": gpu["rogue_count"] > 0,
        "procs": None if processes is None else [_process_line(p) for p in processes],
        "now": _booking_line(now, "now", "until", "end"),
        "next": _booking_line(upcoming, "next", "from", "start"),
    }


NOT_VISIBLE = "not visible to the agent (another pid namespace)"


def _process_owner(process: dict) -> str:
    """Mirrors ownerText in static/scheduler/gpu_board.js. Rows written before jobs and users were
    attributed carry only the attempt."""
    if process["owner"] == "unknown":
        return "unknown owner"
    if process["owner"] == UNMATCHED:
        return NOT_VISIBLE
    if process.get("job") is None:
        return f"attempt {process['owner']}"
    return f"job {process['job']} · {process.get('user') or 'unknown user'}"


def _process_line(process: dict) -> tuple[bool, str]:
    owner = _process_owner(process)
    memory = "" if process["mem"] is None else f" · {process['mem']} MiB"
    return bool(process["rogue"]), f"pid {process['pid']} · {owner}{memory}"


def _booking_line(booking: dict | None, label: str, word: str, edge: str) -> str:
    if booking is None:
        return ""
    local = timezone.localtime(booking[edge])
    idle = " · idle" if booking["idle"] else ""
    return f"{label}: {booking['user']} ({booking['team']}) {word} {local:%a %H:%M}{idle}"


@login_required
def gpu_detail(request, pk: int):
    gpu = get_object_or_404(fleet_selectors.gpus_with_board_state(), pk=pk)
    page = {
        "gpuId": gpu.id,
        "metricsUrl": reverse("api-gpu-metrics", args=[gpu.id]),
        "ranges": {k: v.total_seconds() for k, v in CHART_RANGES.items()},
        "memoryTotal": gpu.memory_total_mb,
        "powerLimit": gpu.power_limit_w,
    }
    context = {
        "gpu": gpu,
        "page_data": page,
        "processes": gpu_recent_processes(gpu=gpu),
        "bookings": gpu.bookings.select_related("user", "team").order_by("-start")[:20],
        "ranges": list(CHART_RANGES),
        "rogue_text": ROGUE_TEXT,
    }
    return render(request, "scheduler/gpu_detail.html", context)


def _staff_only(request) -> None:
    if not request.user.is_staff:
        raise PermissionDenied(drain.STAFF_ONLY)


@login_required
def gpu_drain_page(request, pk: int):
    gpu = get_object_or_404(Gpu.objects.select_related("node"), pk=pk)
    _staff_only(request)
    if request.method == "POST":
        return _drain_post(request, target=gpu, drain_fn=drain.gpu_drain, undrain_fn=drain.gpu_undrain, key="gpu")
    drained = gpu.state == "drained" or bool(gpu.drain_reason)
    return render(
        request, "scheduler/drain.html", _drain_context(target=gpu, kind="GPU", drained=drained, gpu_ids=[gpu.id])
    )


@login_required
def node_drain_page(request, pk: int):
    node = get_object_or_404(Node, pk=pk)
    _staff_only(request)
    if request.method == "POST":
        return _drain_post(request, target=node, drain_fn=drain.node_drain, undrain_fn=drain.node_undrain, key="node")
    gpu_ids = list(node.gpus.values_list("id", flat=True))
    return render(
        request, "scheduler/drain.html", _drain_context(target=node, kind="node", drained=node.drained, gpu_ids=gpu_ids)
    )


def _drain_context(*, target, kind: str, drained: bool, gpu_ids: list[int]) -> dict:
    return {
        "target": target,
        "kind": kind,
        "drained": drained,
        "affected": fleet_selectors.bookings_affected_by_drain(gpu_ids=gpu_ids),
        "running_jobs": list(fleet_selectors.jobs_affected_by_drain(gpu_ids=gpu_ids)),
    }


def _drain_post(request, *, target, drain_fn, undrain_fn, key: str):
    try:
        if request.POST.get("action") == "undrain":
            undrain_fn(by=request.user, **{key: target})
            messages.success(request, f"{target} is back in service.")
        else:
            stop = request.POST.get("stop_running_jobs") in ("1", "on", "true")
            affected = drain_fn(
                by=request.user, reason=request.POST.get("reason", ""), stop_running_jobs=stop, **{key: target}
            )
            stopped = " Its running jobs are being stopped." if stop else ""
            messages.success(request, f"{target} drained; {len(affected)} booking owner(s) notified.{stopped}")
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect(request.path)
    return redirect("gpu-board")
