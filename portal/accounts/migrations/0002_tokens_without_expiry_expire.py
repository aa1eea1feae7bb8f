"""Tokens made when "never expires" was allowed get the site's maximum lifetime from now: they keep
working for that long (not "expired" at once), then stop like any other token."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def give_tokens_without_expiry_the_maximum_lifetime(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    expiry = timezone.now() + timedelta(days=settings.API_TOKEN_MAX_DAYS)
    ApiToken.objects.filter(expiry__isnull=True).update(expiry=expiry)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(give_tokens_without_expiry_the_maximum_lifetime, migrations.RunPython.noop)]
