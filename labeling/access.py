"""The one place that decides who sees and changes datasets, items and imports (CONTRACT 2).

Datasets (and their items, slices, import jobs) are visible to their team's members and site
admins; researchers and team admins of the team (and site admins) change them. What a user may
not see answers 404; what they see but may not change answers 403.
"""
from django.http import Http404
from django.core.exceptions import PermissionDenied  # a 403 in pages and (via portal.api.errors) the API

from portal.teams.access import team_ids_of
from portal.teams.models import Membership

from labeling.models import Dataset, ImportJob, Item, Slice

NO_SUCH_DATASET = "No such dataset."
NO_SUCH_ITEM = "No such item."
NO_SUCH_IMAGE = "No such image."
NO_SUCH_IMPORT = "No such import job."
MAY_NOT_CHANGE = "Only researchers and team admins of the dataset's team change it."
MAY_NOT_CREATE = "Only researchers and team admins of a team create its datasets."


def datasets_visible_to(user):
    if not user.is_authenticated:
        return Dataset.objects.none()
    if user.is_staff:
        return Dataset.objects.all()
    return Dataset.objects.filter(team_id__in=team_ids_of(user))


def may_change_team_datasets(user, team_id: int) -> bool:
    if user.is_staff:
        return True
    memberships = Membership.objects.filter(user=user, team_id=team_id)
    return memberships.filter(is_researcher=True).exists() or memberships.filter(is_team_admin=True).exists()


def access_dataset_for_user(user, dataset_id) -> Dataset:
    dataset = datasets_visible_to(user).select_related("team").filter(pk=dataset_id).first()
    if dataset is None:
        raise Http404(NO_SUCH_DATASET)
    return dataset


def access_dataset_to_change(user, dataset_id) -> Dataset:
    dataset = access_dataset_for_user(user, dataset_id)
    if not may_change_team_datasets(user, dataset.team_id):
        raise PermissionDenied(MAY_NOT_CHANGE)
    return dataset


def access_item_for_user(user, item_id) -> Item:
    item = Item.objects.filter(dataset__in=datasets_visible_to(user), pk=item_id).select_related("dataset").first()
    if item is None:
        raise Http404(NO_SUCH_ITEM)
    return item


def access_slice_for_user(user, slice_id) -> Slice:
    found = Slice.objects.filter(dataset__in=datasets_visible_to(user), pk=slice_id).first()
    if found is None:
        raise Http404(NO_SUCH_IMAGE)
    return found


def access_import_job_for_user(user, job_id) -> ImportJob:
    job = ImportJob.objects.filter(dataset__in=datasets_visible_to(user), pk=job_id).select_related("dataset").first()
    if job is None:
        raise Http404(NO_SUCH_IMPORT)
    return job


NO_SUCH_VERSION = "No such version."


def access_version_for_user(user, version_id):
    from labeling.models import DatasetVersion

    version = DatasetVersion.objects.filter(dataset__in=datasets_visible_to(user), pk=version_id).first()
    if version is None:
        raise Http404(NO_SUCH_VERSION)
    return version
