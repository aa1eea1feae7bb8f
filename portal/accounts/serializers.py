from django.conf import settings
from rest_framework import serializers

from portal.accounts.models import ApiToken, User, validate_time_zone
from portal.teams.models import Membership


class MembershipSerializer(serializers.ModelSerializer):
    team_id = serializers.IntegerField(source="team.id")
    team_name = serializers.CharField(source="team.name")
    roles = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Membership
        fields = ["team_id", "team_name", "roles"]


class MeSerializer(serializers.ModelSerializer):
    memberships = MembershipSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "is_staff", "time_zone", "memberships"]
        read_only_fields = ["id", "username", "is_staff", "memberships"]


class MeUpdateSerializer(serializers.Serializer):
    time_zone = serializers.CharField(required=False, validators=[validate_time_zone])


class ApiTokenSerializer(serializers.ModelSerializer):
    key = serializers.CharField(source="token_key", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["key", "name", "created", "expiry", "last_used_at"]


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(
        default=lambda: settings.API_TOKEN_MAX_DAYS,
        error_messages={"null": "Every token expires: give a number of days, or leave the field out for the most."},
        help_text="Days until the token expires: 1 to the site's maximum (ATELIER_API_TOKEN_MAX_DAYS, 90 unless "
        "set), which is also the default. There are no tokens that never expire.",
    )


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret: shown once, never again.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ApiTokenSerializer.Meta.fields + ["token"]
