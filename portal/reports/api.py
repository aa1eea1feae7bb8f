from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.reports import activity
from portal.reports.filters import ReportInputError, filter_from
from portal.reports.quotas import SORT_KEYS, quota_report, report_teams_for
from scheduler.selectors.quotas import month_parse


class QuotaRowSerializer(serializers.Serializer):
    team_id = serializers.IntegerField()
    team = serializers.CharField()
    user = serializers.CharField(allow_null=True, help_text="Null on the team's total row.")
    reserved_gpu_hours = serializers.FloatField()
    used_gpu_hours = serializers.FloatField()
    idle_gpu_hours = serializers.FloatField()
    quota_gpu_hours = serializers.FloatField()
    percent_used = serializers.FloatField()


class QuotaReportSerializer(serializers.Serializer):
    month = serializers.CharField()
    rows = QuotaRowSerializer(many=True)


def month_from(request):
    try:
        return month_parse(request.query_params.get("month"), default=timezone.now())
    except ValueError as exc:
        raise ValidationError({"month": [str(exc)]}) from None


class QuotaReportView(APIView):
    """Site admins: every team; team admins: their teams; others get an empty report."""

    @extend_schema(
        parameters=[
            OpenApiParameter("month", str, description="YYYY-MM; default this month"),
            OpenApiParameter("sort", str, enum=list(SORT_KEYS)),
            OpenApiParameter("order", str, enum=["asc", "desc"]),
        ],
        responses=QuotaReportSerializer,
    )
    def get(self, request):
        month = month_from(request)
        rows = quota_report(
            teams=report_teams_for(request.user),
            month=month,
            sort=request.query_params.get("sort", "team"),
            descending=request.query_params.get("order") == "desc",
        )
        return Response({"month": f"{month:%Y-%m}", "rows": [r.as_dict() for r in rows]})


FILTER_PARAMETERS = [
    OpenApiParameter("range", str, enum=["day", "week", "month", "custom"], description="default month"),
    OpenApiParameter("date", str, description="YYYY-MM-DD: the day (range=day) or a day of the week (range=week)"),
    OpenApiParameter("month", str, description="YYYY-MM (range=month); default this month"),
    OpenApiParameter("start", str, description="YYYY-MM-DD, first day (range=custom)"),
    OpenApiParameter("end", str, description="YYYY-MM-DD, last day included (range=custom); at most 2 years"),
    OpenApiParameter("scope", str, enum=["site", "node", "gpu_model", "team", "user"], description="default site"),
    OpenApiParameter("of", str, description="the node's, team's or user's id, or the GPU model's name"),
]


IDLE_LIMIT_MAX = 100_000  # the CSV of the page (?format=csv) lists every row whatever the count


class ReportFilterSerializer(serializers.Serializer):
    range = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="Exclusive.")
    scope = serializers.CharField()
    of = serializers.CharField(allow_null=True)


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField(help_text='"GPU-h", "h:mm" (values in seconds), "%", "time" (ISO 8601) or empty.')


class ReportTableSerializer(serializers.Serializer):
    report = serializers.CharField()
    filter = ReportFilterSerializer()
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(child=serializers.DictField(), help_text="One object per row, keyed by column.")
    rows_total = serializers.IntegerField(help_text="Rows there are; more than `rows` holds where ?limit= cut them.")


class ActivityReportView(APIView):
    """A report of portal.reports.activity as a table: the same rows as its page and CSV.
    Site admins: the site; team admins: their teams (another team: 404); others: 404."""

    report = ""

    @extend_schema(parameters=FILTER_PARAMETERS, responses=ReportTableSerializer)
    def get(self, request):
        now = timezone.now()
        try:
            f = filter_from(request.query_params, user=request.user, now=now)
        except ReportInputError as exc:
            raise ValidationError({exc.parameter: [str(exc)]}) from None
        table = self.table(f, now)
        keys = [c.key for c in table.columns]
        return Response(
            {
                "report": table.name,
                "filter": f.as_dict(),
                "columns": [{"key": c.key, "label": c.label, "unit": c.unit} for c in table.columns],
                "rows": [{k: row[k] for k in keys} for row in table.rows],
                "rows_total": len(table.rows) if table.rows_total is None else table.rows_total,
            }
        )

    def table(self, f, now):
        return activity.REPORTS[self.report](f, now)


class IdleReportView(ActivityReportView):
    """The idle bookings, worst first: the first ?limit= of them (default 100)."""

    report = "idle"

    @extend_schema(
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("limit", int, description=f"1–{IDLE_LIMIT_MAX:,}; default {activity.IDLE_SHOWN}"),
        ],
        responses=ReportTableSerializer,
    )
    def get(self, request):
        return super().get(request)

    def table(self, f, now):
        raw = self.request.query_params.get("limit")
        try:
            limit = activity.IDLE_SHOWN if raw is None else int(raw)
            if not 1 <= limit <= IDLE_LIMIT_MAX:
                raise ValueError
        except ValueError:
            raise ValidationError({"limit": [f"limit: a whole number from 1 to {IDLE_LIMIT_MAX:,}."]}) from None
        return activity.idle(f, now=now, limit=limit)


def activity_view(name: str):
    return type(f"{name.title().replace('-', '')}ReportView", (ActivityReportView,), {"report": name}).as_view()
