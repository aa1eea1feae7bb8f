"""Pages: datasets list (+ create), a dataset's thumbnail grid (filters: labeling/filters.py), upload
with progress, item viewer, the versions list (+ freeze, compare) and one version with its diff.

Thin: access checks in labeling.access, reads in selectors, writes in services. Page scripts live in
static/labeling/ and read their data from json_script / data attributes (no inline script).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from labeling import access
from labeling.filters import item_filters_from, shape_class_names_of, tag_names_of
from labeling.models import ItemStatus
from labeling.selectors import datasets as dataset_selectors
from labeling.selectors import versions as version_selectors
from labeling.services.datasets import dataset_create
from labeling.services.versions import version_create
from labeling.version_sections import version_sections_for
from portal.errors import field_errors
from portal.inputs import InputError, integer_from
from portal.teams.access import teams_visible_to

GRID_PAGE_SIZE = 60
FILTER_PARAMS = ("status", "kind", "class", "tag", "annotator", "near_duplicate")
COMPARE_TWO = "Choose two versions of this dataset to compare."
DIFF_ROWS = 200  # per list on the version page; the API answers the whole diff


def _teams_for_creating(user):
    return [team for team in teams_visible_to(user).order_by("name") if access.may_change_team_datasets(user, team.pk)]


@login_required
def labeling_home(request):
    teams = _teams_for_creating(request.user)
    errors, form = {}, {}
    if request.method == "POST":  # a member without the role is refused by the service: a 403
        form = request.POST
        try:
            dataset = dataset_create(
                user=request.user,
                team_id=_int_or_none(form.get("team")),
                name=form.get("name", "").strip(),
                description=form.get("description", ""),
            )
            return redirect("dataset", pk=dataset.pk)
        except ValidationError as error:
            errors = field_errors(error)
    datasets = dataset_selectors.datasets_for_user(user=request.user)
    return render(
        request, "labeling/datasets.html", {"datasets": datasets, "teams": teams, "errors": errors, "form": form}
    )


@login_required
def dataset_page(request, pk: int):
    dataset = access.access_dataset_for_user(request.user, pk)
    before = _int_or_none(request.GET.get("before"))
    try:
        filters = item_filters_from(dataset=dataset, params=request.GET)
    except ValidationError as error:
        messages.error(request, "; ".join(f"{field}: {m}" for field, ms in error.message_dict.items() for m in ms))
        filters = {}
    items = list(dataset_selectors.items_of_dataset(dataset=dataset, **filters, after_id=before)[: GRID_PAGE_SIZE + 1])
    has_more = len(items) > GRID_PAGE_SIZE
    items = items[:GRID_PAGE_SIZE]
    covers = dataset_selectors.first_slices_of(items=items)
    cells = [{"item": item, "cover": covers.get(item.pk)} for item in items]
    chosen = {name: request.GET.get(name, "") for name in FILTER_PARAMS} if filters else {}
    return render(
        request,
        "labeling/dataset.html",
        {
            "dataset": dataset,
            "cells": cells,
            "next_before": items[-1].pk if has_more else None,
            "may_change": access.may_change_team_datasets(request.user, dataset.team_id),
            "may_see_tasks": access.may_see_team_work(request.user, dataset),
            "imports": dataset_selectors.import_jobs_of_dataset(dataset=dataset, limit=5),
            "versions": version_selectors.versions_of_dataset(dataset=dataset)[:3],
            "chosen": chosen,
            "filtered": any(chosen.values()),
            "filter_query": urlencode({k: v for k, v in chosen.items() if v}),
            "statuses": ItemStatus.choices,
            "classes": shape_class_names_of(dataset),
            "tags": tag_names_of(dataset),
            "annotators": dataset_selectors.members_of_team(team_id=dataset.team_id),
        },
    )


@login_required
def versions_page(request, pk: int):
    """The dataset's versions with their stats, a compare form, and (for researchers) "Freeze a version"."""
    if request.method == "POST":
        return _version_create(request, access.access_dataset_to_change(request.user, pk))
    dataset = access.access_dataset_for_user(request.user, pk)
    versions = list(version_selectors.versions_of_dataset(dataset=dataset).select_related("created_by"))
    return render(
        request,
        "labeling/versions.html",
        {
            "dataset": dataset,
            "versions": versions,
            "may_change": access.may_change_team_datasets(request.user, dataset.team_id),
        },
    )


def _version_create(request, dataset):
    try:
        version = version_create(
            dataset=dataset,
            user=request.user,
            seed=_int_or_none(request.POST.get("seed")) or 0,
            note=request.POST.get("note", "")[:500],
        )
        messages.success(request, f"Version {version.number} frozen: {version.stats['items']} items.")
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    return redirect("dataset-versions", pk=dataset.pk)


@login_required
def versions_compare(request, pk: int):
    """The list page's compare form (two selects, GET) lands here: on to the newer version's page."""
    dataset = access.access_dataset_for_user(request.user, pk)
    base, other = _int_or_none(request.GET.get("base")), _int_or_none(request.GET.get("other"))
    versions = version_selectors.versions_of_dataset(dataset=dataset)
    if base is None or other is None or versions.filter(pk__in=[base, other]).count() != len({base, other}):
        messages.error(request, COMPARE_TWO)
        return redirect("dataset-versions", pk=dataset.pk)
    return redirect(f"{reverse('version', kwargs={'pk': other})}?against={base}#diff")


@login_required
def version_page(request, pk: int):
    """One version: stats, per-class counts, train/test leaks; with `?against=<id>` the diff from it."""
    version = access.access_version_for_user(request.user, pk)
    dataset = access.access_dataset_for_user(request.user, version.dataset_id)
    others = [v for v in version_selectors.versions_of_dataset(dataset=dataset) if v.pk != version.pk]
    against = _int_or_none(request.GET.get("against"))
    base = next((v for v in others if v.pk == against), None)
    if against is not None and base is None:
        messages.error(request, COMPARE_TWO)
    diff = _diff_for_page(version_selectors.version_diff(base=base, other=version)) if base else None
    return render(
        request,
        "labeling/version.html",
        {
            "dataset": dataset,
            "version": version,
            "others": others,
            "base": base,
            "diff": diff,
            "leaks": version.leaks[:DIFF_ROWS],
            "diff_rows": DIFF_ROWS,
            "sections": version_sections_for(request.user, version),
        },
    )


def _diff_for_page(diff: dict) -> dict:
    """The diff with item names for the rows shown, each list cut at DIFF_ROWS."""
    shown = {key: diff[key][:DIFF_ROWS] for key in ("added", "removed", "item_changes", "split_changed")}
    ids = set(shown["added"]) | set(shown["removed"]) | {row["item"] for row in shown["split_changed"]}
    names = dataset_selectors.item_names(ids=ids)
    return {
        **shown,
        "shapes": diff["shapes"],
        "api_url": f"/api/v1/versions/{diff['other']}/diff/?against={diff['base']}",
        "counts": {key: len(diff[key]) for key in ("added", "removed", "item_changes", "split_changed")},
        "added": [{"id": i, "name": names.get(i, "")} for i in shown["added"]],
        "removed": [{"id": i, "name": names.get(i, "")} for i in shown["removed"]],
        "split_changed": [{**row, "name": names.get(row["item"], "")} for row in shown["split_changed"]],
    }


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
    slices = list(dataset_selectors.slices_of_item(item=item))
    viewer = {
        "width": item.width,
        "height": item.height,
        "slices": [
            {
                "id": s.id,
                "dzi": f"/api/v1/images/{s.id}/tiles/image.dzi",
                "offset_y": s.offset_y,
                "width": s.width,
                "height": s.height,
            }
            for s in slices
        ],
    }
    return render(
        request, "labeling/item.html", {"item": item, "dataset": item.dataset, "slices": slices, "viewer": viewer}
    )


def _int_or_none(value):
    """An id from a form or query: a whole number a database column holds, else None."""
    try:
        return integer_from(value)
    except InputError:
        return None
