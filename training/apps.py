from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Models and training"

    def ready(self) -> None:
        from labeling.version_sections import register_version_section
        from scheduler.job_actions import register_job_action
        from training.views import lineage_section, register_model_action

        register_job_action("register-model", register_model_action)
        register_version_section("lineage", lineage_section)
