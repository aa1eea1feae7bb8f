from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labeling"
    verbose_name = "Datasets and labeling"

    def ready(self) -> None:
        from labeling.demo import demo_labeling_seed
        from portal.demo import demo_seeded

        demo_seeded.connect(demo_labeling_seed, dispatch_uid="labeling-demo")
