"""Lineage both ways (docs/models.md "Lineage"): from a dataset version to the jobs that read it and
the model versions registered from them ("which models learned from this version"), and from a model
version back to its job, dataset version and dataset.

A job reads a version when one of its `inputs` values is the version's reference (labeling's
`version_ref()`, docs/decisions.md §1: no foreign key from a job into labeling). Every list holds only
what the viewer may see: jobs of their teams, models of their teams (site admins: all).
"""

import json
from dataclasses import dataclass, field

from django.db.models import TextField
from django.db.models.functions import Cast

from labeling.models import DatasetVersion
from labeling.selectors.versions import version_ref
from scheduler.access import jobs_visible_to
from scheduler.models import Job
from training.access import models_visible_to
from training.models import ModelVersion


@dataclass
class JobLineage:
    job: Job
    inputs: list[str]  # the names of the job's inputs that carry the version (`data` → ATELIER_INPUT_DATA)
    model_versions: list[ModelVersion] = field(default_factory=list)


@dataclass
class DatasetVersionLineage:
    version: DatasetVersion
    jobs: list[JobLineage]
    # Pre-label runs (issue 22) join here once they exist: the runs that predicted on this version
    # and the shapes accepted from them, each linked to the model version that ran.

    @property
    def model_versions(self) -> list[ModelVersion]:
        """Which models learned from this version: newest registration first."""
        versions = [mv for entry in self.jobs for mv in entry.model_versions]
        return sorted(versions, key=lambda mv: (mv.registered_at, mv.pk), reverse=True)


def jobs_reading_version(*, version: DatasetVersion, viewer) -> list[JobLineage]:
    """The viewer's visible jobs whose inputs name `version`, newest first.

    The JSON column is searched as text for the quoted reference (the same on SQLite and PostgreSQL,
    and `…:1"` never matches `…:12"`), then each hit is confirmed on the parsed values.
    """
    ref = version_ref(version=version)
    candidates = (
        jobs_visible_to(viewer)
        .annotate(inputs_text=Cast("inputs", TextField()))
        .filter(inputs_text__contains=json.dumps(ref))
        .select_related("owner", "team")
        .order_by("-submitted_at", "-pk")
    )
    found = []
    for job in candidates:
        names = sorted(name for name, value in (job.inputs or {}).items() if value == ref)
        if names:
            found.append(JobLineage(job=job, inputs=names))
    return found


def dataset_version_lineage(*, version: DatasetVersion, viewer) -> DatasetVersionLineage:
    jobs = jobs_reading_version(version=version, viewer=viewer)
    by_job = {entry.job.pk: entry for entry in jobs}
    registered = (
        ModelVersion.objects.filter(dataset_version=version, job_id__in=by_job, model__in=models_visible_to(viewer))
        .select_related("model", "registered_by")
        .prefetch_related("aliases")
        .order_by("-registered_at", "-pk")
    )
    for model_version in registered:
        by_job[model_version.job_id].model_versions.append(model_version)
    return DatasetVersionLineage(version=version, jobs=jobs)


def model_version_lineage(*, model_version: ModelVersion) -> dict:
    """The chain back: the job that produced the version, the dataset version it read and its dataset.

    Registration keeps all three in the model's team (training.services.registry), so whoever sees
    the model version sees the chain. Empty for a version registered without a job.
    """
    if model_version.job_id is None:
        return {"job": None, "dataset_version": None, "dataset": None}
    dataset_version = model_version.dataset_version
    return {"job": model_version.job, "dataset_version": dataset_version, "dataset": dataset_version.dataset}
