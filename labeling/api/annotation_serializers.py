"""DRF serializers for tasks, annotation documents, reviews and quality: translation only."""

from rest_framework import serializers

from labeling.access import may_review_task
from labeling.models import EDITABLE_STATUSES, ReviewDecision, Task, TaskStatus
from labeling.selectors.item_scopes import SCOPES
from labeling.services.annotations import FOCUSED_SECONDS_PER_REPORT
from portal.api.fields import WholeNumberField
from portal.inputs import is_id_text


class TaskSerializer(serializers.ModelSerializer):
    dataset_name = serializers.CharField(source="dataset.name", read_only=True)
    item_name = serializers.CharField(source="item.name", read_only=True)
    item_kind = serializers.CharField(source="item.kind", read_only=True)
    assignee_username = serializers.CharField(
        source="assignee.username", read_only=True, default=None, allow_null=True, help_text="null when unassigned"
    )
    reviewer_username = serializers.CharField(
        source="reviewer.username", read_only=True, default=None, allow_null=True, help_text="null: any reviewer"
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "dataset",
            "dataset_name",
            "item",
            "item_name",
            "item_kind",
            "overlap_index",
            "assignee",
            "assignee_username",
            "reviewer",
            "reviewer_username",
            "status",
            "active_seconds",
            "focused_seconds",
            "created_at",
            "assigned_at",
            "submitted_at",
            "reviewed_at",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, task) -> str:
        return f"/label/{task.pk}/"


class TaskDetailSerializer(TaskSerializer):
    workspace = serializers.SerializerMethodField()
    may_annotate = serializers.SerializerMethodField(help_text="The caller may change the document now.")
    may_review = serializers.SerializerMethodField(help_text="The caller may accept or reject the task now.")

    class Meta(TaskSerializer.Meta):
        fields = TaskSerializer.Meta.fields + ["workspace", "may_annotate", "may_review"]
        read_only_fields = fields

    def get_workspace(self, task) -> dict:
        return self.context["workspace"]

    def get_may_annotate(self, task) -> bool:
        return task.assignee_id == self.context["user"].pk and task.status in EDITABLE_STATUSES

    def get_may_review(self, task) -> bool:
        user = self.context["user"]
        return task.status == TaskStatus.SUBMITTED and task.assignee_id != user.pk and may_review_task(user, task)


class TaskAssignSerializer(serializers.Serializer):
    assignee = WholeNumberField(allow_null=True)


MAX_IDS = 100_000


def _ids_field(**kwargs):
    return serializers.ListField(child=WholeNumberField(), max_length=MAX_IDS, **kwargs)


class TasksCreateSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(
        choices=SCOPES,
        required=False,
        allow_null=True,
        default=None,
        help_text="all | untasked (items without a task) | filter | selection; default: selection when "
        "`items` is given, else all.",
    )
    overlap = WholeNumberField(default=1, help_text="Tasks (annotators) per item, 1 to 10.")
    items = _ids_field(required=False, allow_null=True, default=None, help_text="The selection's item ids.")
    filter = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        default=dict,
        help_text="The dataset grid's filters: status, kind, class, tag, annotator, near_duplicate.",
    )
    version = WholeNumberField(required=False, allow_null=True, default=None, help_text="Only this version's items.")
    annotators = _ids_field(
        required=False, default=list, help_text="Hand the new tasks out round-robin to these user ids."
    )
    reviewer = WholeNumberField(required=False, allow_null=True, default=None, help_text="Route review to this user.")


class TasksCreatedSerializer(serializers.Serializer):
    items = serializers.IntegerField(help_text="Items in the scope.")
    created = serializers.IntegerField()
    existing = serializers.IntegerField(help_text="Tasks the dataset had before.")
    assigned = serializers.IntegerField()
    unassigned = serializers.IntegerField(help_text='Tasks of the scope left for "next task".')


class TasksAssignSerializer(serializers.Serializer):
    tasks = _ids_field(allow_empty=False)
    annotators = _ids_field(
        help_text="One user id: by hand; several: round-robin; empty: take the tasks back (unassigned)."
    )


class TasksAssignedSerializer(serializers.Serializer):
    assigned = serializers.IntegerField()
    unassigned = serializers.IntegerField()


class TasksReviewerSerializer(serializers.Serializer):
    tasks = _ids_field(allow_empty=False)
    reviewer = WholeNumberField(allow_null=True, help_text="null: any reviewer of the team.")


class TasksReviewerSetSerializer(serializers.Serializer):
    updated = serializers.IntegerField()


class ProgressRowSerializer(serializers.Serializer):
    user = serializers.IntegerField(allow_null=True, help_text="null: unassigned, or no reviewer yet")
    username = serializers.CharField(allow_null=True)
    new = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    submitted = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    total = serializers.IntegerField()


class TaskProgressSerializer(serializers.Serializer):
    states = serializers.ListField(child=serializers.CharField())
    annotators = ProgressRowSerializer(many=True)
    reviewers = ProgressRowSerializer(many=True)
    total = serializers.DictField(child=serializers.IntegerField())


class NextTaskSerializer(serializers.Serializer):
    dataset = WholeNumberField(required=False, allow_null=True, default=None)


class AnnotationDocumentSerializer(serializers.Serializer):
    """The body of a save; the shapes themselves are checked by labeling/documents.py."""

    shapes = serializers.ListField(child=serializers.JSONField())
    relations = serializers.ListField(child=serializers.JSONField(), required=False, default=list)
    save_id = serializers.RegexField(
        r"^[A-Za-z0-9_.:-]+$",
        max_length=64,
        required=False,
        allow_null=True,
        default=None,
        help_text="Your id for this save (e.g. a UUID): GET and a 412's `current` give back the latest save's.",
    )
    focused_seconds = WholeNumberField(
        min_value=0,
        max_value=FOCUSED_SECONDS_PER_REPORT,
        required=False,
        default=0,
        help_text="Seconds the editor was in use since its last report; added to the task's focused_seconds.",
    )


class FocusedTimeSerializer(serializers.Serializer):
    seconds = WholeNumberField(min_value=0, max_value=FOCUSED_SECONDS_PER_REPORT)


class AnnotationSerializer(serializers.Serializer):
    task = serializers.IntegerField(source="task_id")
    version = serializers.IntegerField()
    shapes = serializers.ListField(child=serializers.JSONField())
    relations = serializers.ListField(child=serializers.JSONField())
    flags = serializers.ListField(child=serializers.JSONField())
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True, default=None)
    save_id = serializers.CharField(
        allow_null=True, default=None, help_text="The client's id of the save that made this version."
    )


class SavedAnnotationSerializer(AnnotationSerializer):
    clipped = serializers.ListField(child=serializers.CharField(), help_text="Ids of shapes cut back to the image.")
    task_status = serializers.ChoiceField(choices=TaskStatus.choices, help_text="The task's status after the save.")


class SubmitSerializer(serializers.Serializer):
    version = WholeNumberField(
        required=False, allow_null=True, default=None, help_text="The saved version you are handing in (optional)."
    )


class ReviewRequestSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=ReviewDecision.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    shape = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)


class ReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    task = serializers.IntegerField(source="task_id")
    decision = serializers.CharField()
    comment = serializers.CharField()
    shape = serializers.CharField(source="shape_id")
    reviewer = serializers.CharField(source="reviewer.username", allow_null=True, default=None)
    document_version = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class TaskStatusFilterSerializer(serializers.Serializer):
    mine = serializers.BooleanField(required=False, default=False)
    review = serializers.BooleanField(required=False, default=False)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False, allow_null=True, default=None)
    dataset = WholeNumberField(required=False, allow_null=True, default=None)
    assignee = WholeNumberField(required=False, allow_null=True, default=None)
    reviewer = WholeNumberField(required=False, allow_null=True, default=None)


class DiffQuerySerializer(serializers.Serializer):
    # "from" is a Python keyword: the field is named from_version and read from ?from=.
    to = WholeNumberField(min_value=0)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        raw = data.get("from")
        if raw is None or not is_id_text(str(raw)):
            raise serializers.ValidationError({"from": ["Give the version to compare from, e.g. ?from=1&to=3."]})
        values["from_version"] = int(raw)
        return values
