from rest_framework import serializers

from portal.teams.models import Membership, Team, TeamQuota


class TeamMemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    roles = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Membership
        fields = ["username", "roles"]


class TeamSerializer(serializers.ModelSerializer):
    members = TeamMemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "members"]


class TeamQuotaSerializer(serializers.ModelSerializer):
    class Meta:
        model = TeamQuota
        fields = [
            "gpu_hours_per_month",
            "max_concurrent_gpus",
            "max_booking_hours",
            "booking_horizon_days",
            "guaranteed_gpus",
            "borrow_limit_hours",
        ]
