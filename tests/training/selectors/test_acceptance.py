"""A model version's acceptance figures, read from labeling's selectors with the version's own
references (training/refs.py): what annotators kept, changed and how long items took (both databases)."""

from labeling.documents import prediction_shape_ref
from labeling.models import Task
from labeling.services.predictions import predictions_record
from tests.labeling.builders import box, make_item, make_task
from tests.training.conftest import finished_job
from tests.training.lineage_builders import register_from
from training.refs import (
    model_version_id_from_ref,
    model_version_ref,
    prelabel_run_id_from_ref,
    prelabel_run_ref,
)
from training.selectors.acceptance import model_version_acceptance


def predicted(count):
    return [{**box(f"p{n}", "panel", x=n * 10), "score": 0.9 - n / 10} for n in range(1, count + 1)]


def kept(shape_id, prediction, predicted_id, kind):
    origin = {"kind": kind, "prediction": prediction_shape_ref(prediction.pk, predicted_id)}
    return {**box(shape_id, "panel"), "origin": origin}


def timed(task, seconds):
    Task.objects.filter(pk=task.pk).update(focused_seconds=seconds)


def make_version(researcher, team, dataset_version, name="detector"):
    job = finished_job(researcher, team, inputs={})
    return register_from(researcher, job, model_name=name, team=team, version=dataset_version)


def test_the_references_read_back_and_refuse_anything_else():
    assert model_version_ref(version_id=12) == "training:model-version:12"
    assert prelabel_run_ref(run_id=3) == "training:prelabel-run:3"
    assert model_version_id_from_ref("training:model-version:12") == 12
    assert prelabel_run_id_from_ref("training:prelabel-run:3") == 3
    for bad in (
        "training:model-version:",
        "training:model-version:1a",
        "training:prelabel-run:3",
        "training:model-version:²",
        "12",
        None,
    ):
        assert model_version_id_from_ref(bad) is None


def test_it_gives_acceptance_edit_rate_and_time_against_items_without_suggestions(researcher, team_a, dataset_version):
    version = make_version(researcher, team_a, dataset_version)
    other_version = make_version(researcher, team_a, dataset_version, name="segmenter")
    dataset = dataset_version.dataset
    one, two, plain = make_item(dataset, name="one"), make_item(dataset, name="two"), make_item(dataset, name="plain")
    ref = model_version_ref(version_id=version.pk)
    on_one = predictions_record(item=one, run_ref=prelabel_run_ref(run_id=1), model_ref=ref, shapes=predicted(3))
    on_two = predictions_record(item=two, run_ref=prelabel_run_ref(run_id=1), model_ref=ref, shapes=predicted(2))
    on_one, on_two = on_one.prediction, on_two.prediction
    timed(
        make_task(
            one, shapes=[kept("a", on_one, "p1", "prediction_accepted"), kept("b", on_one, "p2", "prediction_edited")]
        ),
        30,
    )
    timed(make_task(two, shapes=[kept("a", on_two, "p1", "prediction_accepted"), box("m", "panel")]), 50)
    timed(make_task(plain, shapes=[box("m", "panel")]), 90)

    acceptance = model_version_acceptance(version=version)

    assert (acceptance.counts.predicted, acceptance.counts.accepted, acceptance.counts.edited) == (5, 2, 1)
    assert acceptance.counts.manual == 1
    assert acceptance.acceptance_rate == 3 / 5
    assert acceptance.edit_rate == 1 / 3
    assert (acceptance.time_with.tasks, acceptance.time_with.mean_seconds) == (2, 40)
    assert (acceptance.time_without.tasks, acceptance.time_without.mean_seconds) == (1, 90)
    untouched = model_version_acceptance(version=other_version)
    assert untouched.acceptance_rate is None and untouched.edit_rate is None and untouched.time_with.tasks == 0


def test_the_model_version_page_shows_the_figures(client, researcher, team_a, dataset_version):
    version = make_version(researcher, team_a, dataset_version)
    item = make_item(dataset_version.dataset, name="one")
    ref = model_version_ref(version_id=version.pk)
    prediction = predictions_record(item=item, run_ref="training:prelabel-run:1", model_ref=ref, shapes=predicted(3))
    timed(make_task(item, shapes=[kept("a", prediction.prediction, "p1", "prediction_edited")]), 42)
    client.force_login(researcher)

    page = client.get(f"/models/{version.model_id}/versions/{version.number}/").content.decode()

    assert (
        '<dd data-figure="acceptance-rate">33 % <span class="muted">(1 of 3 suggestions kept: 0 as predicted, 1 edited)'
        in page
    )
    assert '<dd data-figure="edit-rate">100 %' in page
    assert "42 s with suggestions" in page
    # Once, in the page's body: the section was once pasted into the title block too.
    assert page.count('id="acceptance"') == 1
    title = page[page.index("<title>") : page.index("</title>")]
    assert "<" not in title[len("<title>") :] and f"v{version.number} · Models" in title


def test_a_version_nobody_labelled_with_says_so(client, researcher, team_a, dataset_version):
    version = make_version(researcher, team_a, dataset_version)
    client.force_login(researcher)

    page = client.get(f"/models/{version.model_id}/versions/{version.number}/").content.decode()

    assert "No saved document on an item this version pre-labelled yet." in page
