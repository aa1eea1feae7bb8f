"""Site admins register runtime environments here (docs/jobs.md, "Runtime environments")."""

from django import forms
from django.contrib import admin

from scheduler.models import RuntimeEnvironment
from scheduler.services.environments import environment_errors, environment_save


class RuntimeEnvironmentForm(forms.ModelForm):
    class Meta:
        model = RuntimeEnvironment
        fields = ["name", "description", "python_prefix", "path_entries", "is_default"]

    def clean(self):
        data = super().clean()
        if not data.get("python_prefix"):
            return data  # the field's own "required" error says it
        entries = [line.strip() for line in data.get("path_entries", "").splitlines() if line.strip()]
        for field, messages in environment_errors(
            python_prefix=data.get("python_prefix", ""), path_entries=entries
        ).items():
            self.add_error(field, messages)
        return data


@admin.register(RuntimeEnvironment)
class RuntimeEnvironmentAdmin(admin.ModelAdmin):
    form = RuntimeEnvironmentForm
    list_display = ("name", "python_prefix", "is_default", "created_at")
    search_fields = ("name", "python_prefix")

    def save_model(self, request, obj, form, change):
        environment_save(environment=obj)
