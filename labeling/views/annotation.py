"""Pages of annotation and review: the queue, the workspace and the review page.

Thin shells: each page renders its frame and hands its script the task id and the API addresses
through json_script; the script reads the task, its item's slices, the schema and the document
from the API (docs/annotation.md), the one door that checks who may see and change what.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse

from labeling import access
from labeling.api.annotation import annotation_data, task_detail_data


def _initial(user, pk: int) -> dict:
    """404 for a task the user may not see, before any page is drawn (docs/decisions.md §2); otherwise the
    task and its document as the API gives them, in the page, so the viewer starts without a round
    trip (bench/strip_open.py measures time to first tile)."""
    task = access.access_task_for_user(user, pk)
    return {"task": task_detail_data(user=user, task=task), "annotation": annotation_data(task=task)}


def _page_data(request, *, mode: str, pk: int | None) -> dict:
    here = request.get_full_path()
    return {
        "mode": mode,
        "task": pk,
        "user": {"id": request.user.pk, "username": request.user.get_username()},
        "api": {
            "tasks": "/api/v1/tasks/",
            "next": "/api/v1/tasks/next/",
            "items": "/api/v1/items/",
        },
        "pages": {
            "queue": reverse("label-queue"),
            "label": reverse("label-queue"),
            "review": "/review/",
            "login": f"{reverse('login')}?next={here}",
        },
        "prefixUrl": static("vendor/openseadragon-5.0.1/images/"),
    }


@login_required
def queue_page(request):
    return render(request, "labeling/queue.html", {"page_data": _page_data(request, mode="queue", pk=None)})


@login_required
def workspace_page(request, pk: int):
    data = {**_page_data(request, mode="annotate", pk=pk), "initial": _initial(request.user, pk)}
    return render(request, "labeling/workspace.html", {"task_id": pk, "mode": "annotate", "page_data": data})


@login_required
def review_page(request, pk: int):
    data = {**_page_data(request, mode="review", pk=pk), "initial": _initial(request.user, pk)}
    return render(request, "labeling/workspace.html", {"task_id": pk, "mode": "review", "page_data": data})
