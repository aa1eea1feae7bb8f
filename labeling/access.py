"""The one place that decides who sees and changes datasets, items and imports (docs/decisions.md §2).

Datasets (and their items, slices, import jobs) are visible to their team's members and site
admins; researchers and team admins of the team (and site admins) change them. What a user may
not see answers 404; what they see but may not change answers 403.
"""

from django.core.exceptions import PermissionDenied  # a 403 in pages and (via portal.api.errors) the API
from django.db.models import Q
from django.http import Http404

from labeling.models import Dataset, ImportJob, Item, Slice
from portal.teams.access import team_ids_of
from portal.teams.models import Membership

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


# Labeling tasks (docs/decisions.md §2): the assignee, the team's reviewers and admins, site admins
# see a task; the assignee annotates it; reviewers and admins review it, never their own work.
# The team's researchers see its tasks too: they make and assign them (docs/annotation.md).
NO_SUCH_TASK = "No such task."
ONLY_ASSIGNEE_ANNOTATES = "Only the task's annotator changes its annotation."
MAY_NOT_REVIEW = "Only reviewers and team admins of the dataset's team review its tasks."
NO_REVIEWING_OWN_WORK = "Nobody reviews their own work; ask another reviewer."
MAY_NOT_ASSIGN = "Only researchers and team admins of the dataset's team create and assign its tasks."
REVIEW_ROUTED_ELSEWHERE = "This task's review was given to {reviewer}; a team admin may review it too."


def team_ids_where_user_reviews(user) -> set[int]:
    if not user.is_authenticated:
        return set()
    rows = Membership.objects.filter(user=user).filter(Q(is_reviewer=True) | Q(is_team_admin=True))
    return set(rows.values_list("team_id", flat=True))


def _team_ids_managing_tasks(user) -> set[int]:
    return team_ids_where_user_reviews(user) | set(
        Membership.objects.filter(user=user, is_researcher=True).values_list("team_id", flat=True)
    )


def tasks_visible_to(user):
    from labeling.models import Task

    if not user.is_authenticated:
        return Task.objects.none()
    if user.is_staff:
        return Task.objects.all()
    managed = list(Dataset.objects.filter(team_id__in=_team_ids_managing_tasks(user)).values_list("pk", flat=True))
    if not managed:
        return Task.objects.filter(assignee=user)
    # An OR of the two would make the database merge both indexes and sort every row: ask for it
    # only when this person holds work outside the datasets they manage (rare).
    if Task.objects.filter(assignee=user).exclude(dataset_id__in=managed).exists():
        return Task.objects.filter(Q(assignee=user) | Q(dataset_id__in=managed))
    return Task.objects.filter(dataset_id__in=managed)


def may_see_task(user, task) -> bool:
    return user.is_authenticated and (
        user.is_staff or task.assignee_id == user.pk or task.dataset.team_id in _team_ids_managing_tasks(user)
    )


def access_task_for_user(user, task_id):
    """One task by its primary key, then the rule in Python: an OR across a join defeats the index."""
    from labeling.models import Task

    task = Task.objects.select_related("dataset", "item", "assignee", "reviewer").filter(pk=task_id).first()
    if task is None or not may_see_task(user, task):
        raise Http404(NO_SUCH_TASK)
    return task


def may_review_task(user, task) -> bool:
    return user.is_staff or task.dataset.team_id in team_ids_where_user_reviews(user)


def check_may_annotate(user, task) -> None:
    if task.assignee_id != user.pk:
        raise PermissionDenied(ONLY_ASSIGNEE_ANNOTATES)


def check_may_review(user, task) -> None:
    if not may_review_task(user, task):
        raise PermissionDenied(MAY_NOT_REVIEW)
    if task.assignee_id == user.pk:
        raise PermissionDenied(NO_REVIEWING_OWN_WORK)
    if task.reviewer_id not in (None, user.pk) and not _may_review_any(user, task):
        raise PermissionDenied(REVIEW_ROUTED_ELSEWHERE.format(reviewer=task.reviewer.username))


def _may_review_any(user, task) -> bool:
    """Team admins and site admins review a task whose review a lead gave to someone else (to unblock it)."""
    return (
        user.is_staff or Membership.objects.filter(user=user, team_id=task.dataset.team_id, is_team_admin=True).exists()
    )


def check_may_assign(user, dataset) -> None:
    if not may_change_team_datasets(user, dataset.team_id):
        raise PermissionDenied(MAY_NOT_ASSIGN)


def annotator_team_ids(user) -> set[int]:
    if not user.is_authenticated:
        return set()
    return set(Membership.objects.filter(user=user, is_annotator=True).values_list("team_id", flat=True))


NO_SUCH_EXPORT = "No such export job."


def access_export_job_for_user(user, job_id):
    from labeling.models import ExportJob

    job = (
        ExportJob.objects.filter(dataset__in=datasets_visible_to(user), pk=job_id)
        .select_related("dataset", "version")
        .first()
    )
    if job is None:
        raise Http404(NO_SUCH_EXPORT)
    return job


def may_see_team_work(user, dataset) -> bool:
    """Everyone's history and quality figures of a dataset: its reviewers, researchers and admins."""
    return dataset.team_id in team_ids_where_user_reviews(user) or may_change_team_datasets(user, dataset.team_id)
