from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Models and training"

    def ready(self) -> None:
        from labeling.version_sections import register_version_section
        from portal.demo import demo_seeded
        from scheduler.job_actions import register_job_action
        from scheduler.metrics import register_metrics
        from training.demo import demo_training_seed
        from training.metrics import served_models_metrics
        from training.views import lineage_section, register_model_action

        register_job_action("register-model", register_model_action)
        register_version_section("lineage", lineage_section)
        register_metrics("served-models", served_models_metrics)
        # After labeling's demo (its dispatch_uid connects first): the demo's detector trains after start-up.
        demo_seeded.connect(demo_training_seed, dispatch_uid="training-demo")
