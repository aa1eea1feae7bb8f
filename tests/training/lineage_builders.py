"""What the lineage tests share: a dataset version read by two jobs of team A, one of them registered
twice (two models learned from it), and a job naming another reference.

The model versions are written as registration writes them, without copying and loading a checkpoint
(a torch child process, seconds on this machine): test_lineage.py registers one for real."""

from dataclasses import dataclass

from labeling.selectors.versions import version_ref
from tests.training.conftest import finished_job
from training.models import ModelVersion, RegisteredModel
from training.services import registry


@dataclass
class Lineage:
    version: object
    trained: object  # a succeeded job that read the version, registered as detector v1 and segmenter v1
    unregistered: object  # a failed job that read the version
    elsewhere: object  # a job naming another reference (the version's id with a digit appended)
    detector_v1: object
    segmenter_v1: object


def register_from(user, job, *, model_name: str, team, version):
    model = RegisteredModel.objects.filter(team=team, name=model_name).first()
    if model is None:
        model = registry.model_create(user=user, team_id=team.pk, name=model_name)
    number = model.versions.count() + 1
    return ModelVersion.objects.create(
        model=model, number=number, format="torch_state_dict", job=job, dataset_version=version, registered_by=user
    )


def build_lineage(*, researcher, team, version) -> Lineage:
    ref = version_ref(version=version)
    trained = finished_job(researcher, team, inputs={"data": ref, "config": "s3://configs/a.yaml"})
    unregistered = finished_job(researcher, team, inputs={"data": ref, "val": ref}, state="failed")
    elsewhere = finished_job(researcher, team, inputs={"data": f"{ref}0", ref: "a key, not a value"})
    detector_v1 = register_from(researcher, trained, model_name="detector", team=team, version=version)
    segmenter_v1 = register_from(researcher, trained, model_name="segmenter", team=team, version=version)
    return Lineage(version, trained, unregistered, elsewhere, detector_v1, segmenter_v1)
