"""/audit/ and GET /api/v1/audit/: the audit log with filters (docs/reports.md "Audit log"). Read only:
no page or API here changes or deletes an entry (the API allows GET alone)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView

from portal.audit.models import AuditEntry
from portal.reports.audit import ACTIONS, audit_filters_from, audit_log, audit_teams_for
from portal.teams.models import Team

PAGE_SIZE = 50


@login_required
def audit_page(request):
    team_ids = audit_teams_for(request.user)  # 404 unless a site or team admin
    filters = audit_filters_from(request.GET, user=request.user)  # a bad filter: the 400 page naming it
    page = Paginator(audit_log(user=request.user, filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
    teams = Team.objects.all() if team_ids is None else Team.objects.filter(pk__in=team_ids)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reports/audit.html",
        {"page": page, "actions": ACTIONS.items(), "teams": teams, "params": request.GET, "query": query.urlencode()},
    )


class AuditRowSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="entry-<n> for portal's own rows, alias-<n> for training's alias history")
    at = serializers.DateTimeField()
    actor = serializers.CharField(help_text="Username; empty for the system (a script, the demo seed).")
    action = serializers.ChoiceField(choices=list(ACTIONS))
    action_label = serializers.CharField()
    team_id = serializers.IntegerField(allow_null=True)
    team = serializers.CharField()
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    target = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class AuditLogView(GenericAPIView):
    """Site admins: every entry; team admins: their teams' entries; others: 404."""

    serializer_class = AuditRowSerializer
    queryset = AuditEntry.objects.none()  # for the schema only: get() reads both sources (portal.reports.audit)
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        parameters=[
            OpenApiParameter("actor", str, description="username of who acted"),
            OpenApiParameter("action", str, enum=list(ACTIONS)),
            OpenApiParameter("team", int, description="team id"),
            OpenApiParameter("since", str, description="first day, YYYY-MM-DD (site time zone)"),
            OpenApiParameter("until", str, description="last day, YYYY-MM-DD, included"),
        ],
        responses=AuditRowSerializer(many=True),
    )
    def get(self, request):
        audit_teams_for(request.user)
        filters = audit_filters_from(request.query_params, user=request.user)
        page = self.paginate_queryset(audit_log(user=request.user, filters=filters))
        return self.get_paginated_response(AuditRowSerializer(page, many=True).data)
