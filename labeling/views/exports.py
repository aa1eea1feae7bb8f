"""The export page of a version: choose a format and options, watch progress, download.

Thin: access in labeling.access; the form posts to the API (static/labeling/export.js), which makes
the job; progress arrives as realtime events and by polling the job, the source of truth.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from labeling import access
from labeling.formats.options import FORMATS, MIN_TILE_HEIGHT
from labeling.models import ExportFormat, ExportJob

RECENT = 20


@login_required
def version_export_page(request, pk: int):
    version = access.access_version_for_user(request.user, pk)
    dataset = version.dataset
    may_change = access.may_change_team_datasets(request.user, dataset.team_id)
    page = {"create_url": f"/api/v1/versions/{version.pk}/exports/", "may_change": may_change}
    return render(
        request,
        "labeling/export.html",
        {
            "version": version,
            "dataset": dataset,
            "may_change": may_change,
            "page": page,
            "formats": [(value, ExportFormat(value).label) for value in FORMATS],
            "min_tile_height": MIN_TILE_HEIGHT,
            "jobs": ExportJob.objects.filter(version=version).order_by("-id")[:RECENT],
        },
    )
