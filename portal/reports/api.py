from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

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
