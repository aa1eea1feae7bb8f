"""Serializer fields over portal.inputs, so the API reads instants and numbers as the pages do."""

from rest_framework import serializers

from portal.inputs import BIGINT_MAX, InputError, instant_from, integer_from


class InstantField(serializers.DateTimeField):
    """ISO 8601 with an offset, years 2000–2100; a naive datetime is refused, not guessed (docs/decisions.md §3)."""

    def to_internal_value(self, value):
        try:
            return instant_from(value)
        except InputError as exc:
            raise serializers.ValidationError(str(exc)) from None


class WholeNumberField(serializers.IntegerField):
    """An integer the database column holds: a PostgreSQL bigint at most, whatever the bounds given."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", BIGINT_MAX)
        kwargs.setdefault("min_value", -BIGINT_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return integer_from(data, minimum=self.min_value, maximum=self.max_value)
        except InputError as exc:
            raise serializers.ValidationError(str(exc)) from None
