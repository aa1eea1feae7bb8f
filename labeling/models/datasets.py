"""Datasets, series, items and their slices, and import jobs.

An item is one image or an episode: an ordered list of slices that read as one strip. Slice k
starts at `offset_y` = the sum of the heights of slices 0..k-1, so the item has one coordinate
space (docs/decisions.md §7). Stored files live under MEDIA_ROOT/datasets/<dataset id>/ and are named by
the canonical bytes' sha256, so a re-delivered import writes the same paths again.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


def default_label_schema() -> dict:
    """The classes webtoon annotation starts from (labeling/schema.py); a dataset may change them."""
    from labeling.schema import default_webtoon_schema

    return default_webtoon_schema()


class Series(models.Model):
    """A webtoon title; its characters are what the `character` class's name attribute names."""

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="series")
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "series"
        constraints = [models.UniqueConstraint(fields=["team", "title"], name="series_unique_title_per_team")]

    def __str__(self) -> str:
        return self.title


class Character(models.Model):
    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="characters")
    name = models.CharField(max_length=200)
    aliases = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "name"], name="character_unique_name_per_series")]

    def __str__(self) -> str:
        return self.name


class Dataset(models.Model):
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    series = models.ForeignKey(Series, null=True, blank=True, on_delete=models.SET_NULL, related_name="datasets")
    label_schema = models.JSONField(default=default_label_schema)
    # Kept on the row so list pages never count items (STYLE: no counts on list pages).
    item_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="dataset_unique_name_per_team")]

    def __str__(self) -> str:
        return self.name


class ItemKind(models.TextChoices):
    IMAGE = "image", "Image"
    EPISODE = "episode", "Episode"


class ItemStatus(models.TextChoices):
    """Where an item's labeling stands, derived from its tasks (labeling/services/annotation_tasks.py)."""

    NEW = "new", "New"  # no task started
    IN_PROGRESS = "in_progress", "In progress"  # some task is being drawn or was sent back
    IN_REVIEW = "in_review", "In review"  # every task submitted, some not reviewed yet
    DONE = "done", "Done"  # every task accepted


class Item(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=10, choices=ItemKind.choices, default=ItemKind.IMAGE)
    name = models.CharField(max_length=255)  # display only, never a path
    status = models.CharField(max_length=20, choices=ItemStatus.choices, default=ItemStatus.NEW)
    episode_number = models.PositiveIntegerField(null=True, blank=True)
    # The item's coordinate space: the widest slice, and the sum of the slice heights.
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    slice_count = models.PositiveIntegerField(default=0)
    near_duplicate = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The grid pages by (dataset, id) and filters by status: both are index range scans.
        indexes = [
            models.Index(fields=["dataset", "id"], name="item_dataset_id"),
            models.Index(fields=["dataset", "status", "id"], name="item_dataset_status_id"),
        ]

    def __str__(self) -> str:
        return self.name


class ImportSource(models.TextChoices):
    """Where an image came from: an import job's kind, and each slice's source."""

    UPLOAD = "upload", "Upload"
    ARCHIVE = "archive", "Archive"
    URL = "url", "URL"
    FOLDER = "folder", "Server folder"


SliceSource = ImportKind = ImportSource


class Slice(models.Model):
    """One stored image: a single image item's only slice, or one slice of an episode."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="slices")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="slices")
    position = models.PositiveIntegerField()
    offset_y = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)  # of the canonical stored bytes
    perceptual_hash = models.CharField(max_length=16)  # 64-bit dHash
    near_duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    byte_size = models.PositiveBigIntegerField()
    source = models.CharField(max_length=10, choices=SliceSource.choices)
    source_format = models.CharField(max_length=10)
    source_detail = models.CharField(max_length=2000, blank=True)  # URL, archive entry, folder path
    original_name = models.CharField(max_length=255)  # display only
    original_byte_size = models.PositiveBigIntegerField()
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    thumbnail_width = models.PositiveIntegerField()
    thumbnail_height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item_id", "position"]
        constraints = [
            # Exact duplicates are skipped within a dataset; the constraint settles a race of two jobs.
            models.UniqueConstraint(fields=["dataset", "sha256"], name="slice_unique_content_per_dataset"),
            models.UniqueConstraint(fields=["item", "position"], name="slice_unique_position_per_item"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.width}x{self.height})"


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"  # every file has an outcome (some may be refused)
    FAILED = "failed", "Failed"  # the job as a whole was refused (an archive bomb, a URL error)


IMPORT_FINISHED_STATES = (ImportState.SUCCEEDED, ImportState.FAILED)


class ImportJob(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="import_jobs")
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    state = models.CharField(max_length=10, choices=ImportState.choices, default=ImportState.QUEUED)
    as_episode = models.BooleanField(default=False)
    episode_name = models.CharField(max_length=255, blank=True)
    source_detail = models.CharField(max_length=2000, blank=True)  # the URL, the archive's or folder's name
    expanded = models.BooleanField(default=False)  # archive/folder/URL: its files are listed as ImportFiles
    progress = models.FloatField(default=0.0)
    total = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    near_duplicates = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)  # files of an archive or folder that are not images
    ignored = models.PositiveIntegerField(default=0)  # OS junk (__MACOSX/, .DS_Store, ...): no ImportFile row
    detail = models.CharField(max_length=1000, blank=True)  # why a FAILED job failed
    episode_item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["dataset", "-id"], name="importjob_dataset_recent")]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.kind}, {self.state})"


class FileOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REFUSED = "refused", "Refused"
    DUPLICATE = "duplicate", "Duplicate (skipped)"
    SKIPPED = "skipped", "Not an image (skipped)"


class ImportFile(models.Model):
    """One file of an import and its outcome; `staging_name` is the bytes waiting in the temp area."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveIntegerField()
    display_name = models.CharField(max_length=255)
    staging_name = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=10, choices=FileOutcome.choices, default=FileOutcome.PENDING)
    code = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=1000, blank=True)
    slice = models.ForeignKey(Slice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    duplicate_of = models.ForeignKey(Slice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    near_duplicate_of = models.ForeignKey(Slice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["job_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="importfile_unique_position"),
        ]
        indexes = [
            models.Index(fields=["job", "outcome"], name="importfile_job_outcome", condition=Q(outcome="pending"))
        ]

    def __str__(self) -> str:
        return f"{self.display_name}: {self.outcome}"


class Split(models.TextChoices):
    TRAIN = "train", "Train"
    VAL = "val", "Validation"
    TEST = "test", "Test"


class DatasetVersion(models.Model):
    """An immutable snapshot of a dataset's items and their annotations.

    Immutable at the database: a trigger refuses UPDATE on this table and on VersionItem
    (migration 0002), so no code path, admin or shell can change a version after creation.
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    note = models.CharField(max_length=500, blank=True)
    seed = models.BigIntegerField()
    ratios = models.JSONField()  # {"train": 0.8, "val": 0.1, "test": 0.1}
    content_hash = models.CharField(max_length=64)
    stats = models.JSONField()
    leaks = models.JSONField(default=list)  # train/test pairs that are exact or near duplicates
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "number"], name="version_unique_number")]

    def __str__(self) -> str:
        return f"{self.dataset} v{self.number}"


class VersionItem(models.Model):
    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="version_items")
    # RESTRICT: an item in a version is not deleted alone (deleting the dataset takes both).
    item = models.ForeignKey(Item, on_delete=models.RESTRICT, related_name="+")
    split = models.CharField(max_length=5, choices=Split.choices)
    # What the item was when the version was made: kind, name, size, and each slice's hashes and offset.
    snapshot = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["version", "id"], name="versionitem_version_id")]
