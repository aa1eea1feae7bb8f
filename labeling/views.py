"""Pages: datasets list (+ create), a dataset's thumbnail grid, upload with progress, item viewer.

Thin: access checks in labeling.access, reads in selectors, writes in services. Page scripts live in
static/labeling/ and read their data from json_script / data attributes (no inline script).
"""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from rest_framework.exceptions import APIException, ValidationError

from labeling import access, selectors
from labeling.services.datasets import dataset_create
from labeling.services.versions import version_create
from portal.teams.access import teams_visible_to

GRID_PAGE_SIZE = 60


def _teams_for_creating(user):
    return [team for team in teams_visible_to(user).order_by("name") if access.may_change_team_datasets(user, team.pk)]


@login_required
def labeling_home(request):
    teams = _teams_for_creating(request.user)
    errors, form = {}, {}
    if request.method == "POST" and teams:
        form = request.POST
        try:
            dataset = dataset_create(user=request.user, team_id=int(form.get("team") or 0), name=form.get("name", "").strip(),
                                     description=form.get("description", ""))
            return redirect("dataset", pk=dataset.pk)
        except ValidationError as error:
            errors = error.detail
        except APIException as error:
            errors = {"team": [str(error.detail)]}
    datasets = selectors.datasets_for_user(user=request.user)
    return render(request, "labeling/datasets.html", {"datasets": datasets, "teams": teams, "errors": errors, "form": form})


@login_required
def dataset_page(request, pk: int):
    dataset = access.access_dataset_for_user(request.user, pk)
    before = _int_or_none(request.GET.get("before"))
    status = request.GET.get("status") or None
    kind = request.GET.get("kind") or None
    items = list(selectors.items_of_dataset(dataset=dataset, status=status, kind=kind, after_id=before)[: GRID_PAGE_SIZE + 1])
    has_more = len(items) > GRID_PAGE_SIZE
    items = items[:GRID_PAGE_SIZE]
    covers = selectors.first_slices_of(items=items)
    cells = [{"item": item, "cover": covers.get(item.pk)} for item in items]
    return render(request, "labeling/dataset.html", {
        "dataset": dataset, "cells": cells, "next_before": items[-1].pk if has_more else None,
        "may_change": access.may_change_team_datasets(request.user, dataset.team_id),
        "imports": selectors.import_jobs_of_dataset(dataset=dataset, limit=5), "status": status or "", "kind": kind or "",
        "versions": selectors.versions_of_dataset(dataset=dataset)[:10],
    })


@login_required
def version_create_page(request, pk: int):
    """The dataset page's "Freeze a version" form; the version list is on the dataset page."""
    dataset = access.access_dataset_to_change(request.user, pk)
    if request.method != "POST":
        return redirect("dataset", pk=dataset.pk)
    try:
        version = version_create(dataset=dataset, user=request.user, seed=_int_or_none(request.POST.get("seed")) or 0,
                                 note=request.POST.get("note", "")[:500])
        messages.success(request, f"Version {version.number} frozen: {version.stats['items']} items.")
    except ValidationError as error:
        messages.error(request, "; ".join(str(m) for ms in error.detail.values() for m in ms))
    return redirect("dataset", pk=dataset.pk)


@login_required
def upload_page(request, pk: int):
    dataset = access.access_dataset_to_change(request.user, pk)
    limits = request_limits()
    return render(request, "labeling/upload.html", {"dataset": dataset, "limits": limits, "accept": ACCEPT})


ACCEPT = "image/png,image/jpeg,image/webp,image/bmp,image/gif,image/tiff,.png,.jpg,.jpeg,.webp,.bmp,.gif,.tif,.tiff"


def request_limits() -> dict:
    limits = settings.INGEST_LIMITS
    return {"max_files": limits.max_files_per_request, "max_file_bytes": limits.max_file_bytes}


@login_required
def item_page(request, pk: int):
    item = access.access_item_for_user(request.user, pk)
    slices = list(selectors.slices_of_item(item=item))
    viewer = {
        "width": item.width, "height": item.height,
        "slices": [{"id": s.id, "dzi": f"/api/v1/images/{s.id}/tiles/image.dzi", "offset_y": s.offset_y,
                    "width": s.width, "height": s.height} for s in slices],
    }
    return render(request, "labeling/item.html", {"item": item, "dataset": item.dataset, "slices": slices, "viewer": viewer})


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
