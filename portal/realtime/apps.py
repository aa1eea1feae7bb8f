from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "portal.realtime"
    label = "realtime"
