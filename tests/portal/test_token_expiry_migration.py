"""Tokens made when "never expires" was allowed: the migration gives them the site's maximum lifetime
from now, so they keep working that long instead of expiring at once."""

import importlib
from datetime import timedelta

from django.apps import apps
from django.utils import timezone

from portal.accounts.models import ApiToken

migration = importlib.import_module("portal.accounts.migrations.0002_tokens_without_expiry_expire")


def test_tokens_without_an_expiry_get_the_maximum_lifetime_and_others_keep_theirs(researcher, settings):
    settings.API_TOKEN_MAX_DAYS = 90
    forever = ApiToken.objects.create(user=researcher, name="old", expiry=None)[0]
    dated = ApiToken.objects.create(user=researcher, name="dated", expiry=timedelta(days=3))[0]
    dated_expiry = dated.expiry

    migration.give_tokens_without_expiry_the_maximum_lifetime(apps, None)

    forever.refresh_from_db()
    dated.refresh_from_db()
    assert timedelta(days=89, hours=23) < forever.expiry - timezone.now() <= timedelta(days=90)
    assert dated.expiry == dated_expiry
