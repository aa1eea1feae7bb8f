from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"

    def ready(self):
        from portal.api import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
