from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Models and training"

    def ready(self) -> None:
        from scheduler.job_actions import register_job_action
        from training.views import register_model_action

        register_job_action("register-model", register_model_action)
