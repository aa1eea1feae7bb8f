"""Lineage reads both ways: the jobs that read a dataset version and the model versions registered
from them, only what the viewer may see; and a model version's chain back to its dataset."""

from labeling.selectors.versions import version_ref
from tests.training.conftest import finished_job
from tests.training.lineage_builders import build_lineage
from training.selectors.lineage import dataset_version_lineage, model_version_lineage
from training.services import registry


def test_it_lists_the_jobs_that_read_a_version_and_the_models_from_them(researcher, team_a, dataset_version):
    built = build_lineage(researcher=researcher, team=team_a, version=dataset_version)

    lineage = dataset_version_lineage(version=dataset_version, viewer=researcher)

    assert [(entry.job.pk, entry.inputs) for entry in lineage.jobs] == [
        (built.unregistered.pk, ["data", "val"]),
        (built.trained.pk, ["data"]),
    ]
    assert lineage.jobs[0].model_versions == []
    assert {mv.pk for mv in lineage.jobs[1].model_versions} == {built.detector_v1.pk, built.segmenter_v1.pk}
    assert [mv.pk for mv in lineage.model_versions] == [built.segmenter_v1.pk, built.detector_v1.pk]


def test_a_reference_to_another_version_or_in_a_key_is_not_a_read(researcher, team_a, dataset_version):
    ref = version_ref(version=dataset_version)
    finished_job(researcher, team_a, inputs={"data": f"{ref}0"})
    finished_job(researcher, team_a, inputs={ref: "data"})
    finished_job(researcher, team_a, inputs={"data": f"x{ref}"})

    assert dataset_version_lineage(version=dataset_version, viewer=researcher).jobs == []


def test_it_shows_only_the_viewers_jobs_and_models(
    researcher, annotator, outsider, admin, team_a, team_b, dataset_version
):
    ref = version_ref(version=dataset_version)
    theirs = finished_job(outsider, team_b, inputs={"data": ref})  # an opaque string: anyone may type it
    ours = finished_job(researcher, team_a, inputs={"data": ref})

    assert [e.job.pk for e in dataset_version_lineage(version=dataset_version, viewer=annotator).jobs] == [ours.pk]
    assert [e.job.pk for e in dataset_version_lineage(version=dataset_version, viewer=outsider).jobs] == [theirs.pk]
    seen_by_admin = dataset_version_lineage(version=dataset_version, viewer=admin).jobs
    assert [e.job.pk for e in seen_by_admin] == [ours.pk, theirs.pk]


def test_a_model_version_leads_back_to_its_job_dataset_version_and_dataset(researcher, team_a, dataset_version):
    built = build_lineage(researcher=researcher, team=team_a, version=dataset_version)

    chain = model_version_lineage(model_version=built.detector_v1)

    assert chain == {"job": built.trained, "dataset_version": dataset_version, "dataset": dataset_version.dataset}


def test_a_registered_version_is_found_from_the_version_it_learned_from(researcher, team_a, model, trained_job):
    registered = registry.version_register(
        user=researcher, model=model, job=trained_job, checkpoint="model.pt", format="torch_state_dict"
    )

    lineage = dataset_version_lineage(version=registered.dataset_version, viewer=researcher)

    assert [entry.job.pk for entry in lineage.jobs] == [trained_job.pk]
    assert [mv.pk for mv in lineage.model_versions] == [registered.pk]
