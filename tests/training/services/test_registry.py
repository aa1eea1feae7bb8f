"""The registry's services: version numbering, lineage checks, files, alias moves and their history,
and deletion refused while an alias points at a version."""

import hashlib
import os
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections

from portal.errors import Conflict, Invalid
from tests.training.conftest import (
    finished_job,
    outputs_dir,
    state_dict_bytes,
    stored_files,
    torchscript_bytes,
    write_output,
)
from training import access
from training.models import AliasMove, ModelFile, ModelVersion
from training.selectors.registry import version_folder
from training.services import registry


def register(user, model, job, **fields):
    fields = {"checkpoint": "model.pt", "format": "torch_state_dict"} | fields
    return registry.version_register(user=user, model=model, job=job, **fields)


def test_it_numbers_versions_per_model(researcher, team_a, model, trained_job):
    other = registry.model_create(user=researcher, team_id=team_a.pk, name="segmenter")

    numbers = [register(researcher, model, trained_job).number for _ in range(3)]

    assert numbers == [1, 2, 3]
    assert register(researcher, other, trained_job).number == 1


def test_it_refuses_a_second_model_of_the_same_name_in_a_team(researcher, team_a, model):
    with pytest.raises(Invalid) as refused:
        registry.model_create(user=researcher, team_id=team_a.pk, name="detector")
    assert refused.value.message_dict == {"name": [registry.NAME_TAKEN.format(name="detector")]}


def test_it_records_lineage_files_and_metrics(researcher, model, trained_job, dataset_version):
    version = register(researcher, model, trained_job, metrics_file="metrics.json", params={"lr": 0.01})

    version = ModelVersion.objects.get(pk=version.pk)
    assert (version.job_id, version.dataset_version_id) == (trained_job.pk, dataset_version.pk)
    assert version.metrics == {"map50": 0.42} and version.params == {"lr": 0.01}
    assert version.registered_by == researcher
    checkpoint = version.files.get(role="checkpoint")
    stored = version_folder(version=version) / checkpoint.stored_name
    original = (outputs_dir(trained_job) / "model.pt").read_bytes()
    assert stored.read_bytes() == original
    assert checkpoint.sha256 == hashlib.sha256(original).hexdigest() and checkpoint.byte_size == len(original)


def test_it_loads_torchscript_checkpoints(researcher, model, trained_job):
    write_output(trained_job, "scripted.pt", torchscript_bytes())

    version = register(researcher, model, trained_job, checkpoint="scripted.pt", format="torchscript")

    assert version.format == "torchscript"


def test_a_state_dict_that_is_torchscript_is_refused_with_the_loaders_words(researcher, model, trained_job):
    write_output(trained_job, "scripted.pt", torchscript_bytes())

    with pytest.raises(Invalid) as refused:
        register(researcher, model, trained_job, checkpoint="scripted.pt")

    assert refused.value.message_dict["checkpoint"][0].startswith("'scripted.pt' does not load as a torch state_dict:")


def test_a_state_dict_must_be_a_mapping(researcher, model, trained_job):
    import io

    import torch

    buffer = io.BytesIO()
    torch.save([torch.zeros(2)], buffer)
    write_output(trained_job, "list.pt", buffer.getvalue())

    with pytest.raises(Invalid) as refused:
        register(researcher, model, trained_job, checkpoint="list.pt")

    assert refused.value.message_dict == {
        "checkpoint": [
            "'list.pt' does not load as a torch state_dict: it loads as a list, not a mapping of names to tensors"
        ]
    }


def test_a_checkpoint_that_loads_too_slowly_is_refused(researcher, model, trained_job, settings, monkeypatch):
    from training.services import registry

    monkeypatch.setattr(registry, "checkpoint_load_error", lambda path, format: "loading took more than 2 s")

    with pytest.raises(Invalid) as refused:
        register(researcher, model, trained_job)

    assert refused.value.message_dict == {
        "checkpoint": ["'model.pt' does not load as a torch state_dict: loading took more than 2 s"]
    }
    assert stored_files() == []


def test_the_load_check_kills_a_loader_that_outlasts_the_timeout(tmp_path, settings):
    """A named pipe nobody writes to blocks the loader's open() for ever: the child is killed."""
    from training.checkpoints import STATE_DICT, checkpoint_load_error

    fifo = tmp_path / "never.pt"
    os.mkfifo(fifo)
    settings.MODEL_LOAD_TIMEOUT = 1

    assert checkpoint_load_error(str(fifo), STATE_DICT) == "loading took more than 1 s"
    settings.MODEL_LOAD_TIMEOUT = 120  # the next child is not held up by the one killed
    assert checkpoint_load_error(str(tmp_path / "missing.pt"), STATE_DICT).startswith("[Errno 2]")


def test_a_status_the_forkserver_lost_is_asked_once_more(monkeypatch):
    """multiprocessing reports 255 when the forkserver could not say how the child ended (CI lost one of
    four registrations at once that way): that says nothing about the file, so the check runs again.
    Simulated here: killing the forkserver at the right instant is not something a test can time."""
    from training import checkpoints

    answers = iter(["the loader stopped with status 255", None])
    monkeypatch.setattr(checkpoints, "_checked_in_child", lambda path, format: next(answers))
    assert checkpoints.checkpoint_load_error("model.pt", checkpoints.STATE_DICT) is None
    answers = iter(["the loader stopped with status 1", None])  # a real crash is the answer
    assert checkpoints.checkpoint_load_error("model.pt", checkpoints.STATE_DICT) == "the loader stopped with status 1"


@pytest.mark.parametrize("data", [b"not a checkpoint", b""])
def test_a_checkpoint_that_does_not_load_writes_nothing(researcher, model, trained_job, data):
    write_output(trained_job, "broken.pt", data)

    with pytest.raises(Invalid) as refused:
        register(researcher, model, trained_job, checkpoint="broken.pt", metrics_file="metrics.json")

    assert "does not load" in refused.value.message_dict["checkpoint"][0]
    assert not ModelVersion.objects.exists() and not ModelFile.objects.exists()
    assert stored_files() == []


def test_a_missing_or_oversized_file_is_refused_by_name(researcher, model, trained_job, settings):
    with pytest.raises(Invalid) as missing:
        register(researcher, model, trained_job, metrics_file="nope.json")
    assert missing.value.message_dict == {
        "metrics_file": [f"'nope.json' is not among the outputs of job {trained_job.pk}."]
    }

    settings.MODEL_MAX_FILE_BYTES = 10
    with pytest.raises(Invalid) as oversized:
        register(researcher, model, trained_job)
    assert oversized.value.message_dict["checkpoint"][0].startswith("'model.pt' is ")
    assert stored_files() == []


def test_the_dataset_version_must_be_the_one_in_the_jobs_inputs(researcher, model, trained_job, dataset_version):
    from labeling.services.versions import version_create

    other = version_create(dataset=dataset_version.dataset, user=researcher, seed=8)

    with pytest.raises(Invalid) as refused:
        register(researcher, model, trained_job, dataset_version_id=other.pk)

    assert refused.value.message_dict == {
        "dataset_version": [
            registry.VERSION_NOT_THE_JOBS.format(version=other.pk, job=trained_job.pk, named=dataset_version.pk)
        ]
    }
    assert register(researcher, model, trained_job, dataset_version_id=dataset_version.pk).number == 1


def test_a_job_without_a_dataset_version_or_not_succeeded_is_refused(researcher, team_a, model, trained_job):
    bare = finished_job(researcher, team_a, inputs={"data": "/some/folder"})
    write_output(bare, "model.pt", state_dict_bytes())
    with pytest.raises(Invalid) as no_version:
        register(researcher, model, bare)
    assert no_version.value.message_dict == {"job": [registry.JOB_NAMES_NO_VERSION.format(job=bare.pk)]}

    failed = finished_job(researcher, team_a, inputs=trained_job.inputs, state="failed")
    with pytest.raises(Invalid) as not_succeeded:
        register(researcher, model, failed)
    assert not_succeeded.value.message_dict == {
        "job": [registry.JOB_NOT_SUCCEEDED.format(job=failed.pk, state="failed")]
    }


def test_an_annotator_may_not_register(annotator, model, trained_job):
    with pytest.raises(PermissionDenied):
        register(annotator, model, trained_job)


def test_alias_moves_keep_an_append_only_history(researcher, team_admin, model, trained_job):
    for _ in range(2):
        register(researcher, model, trained_job)

    registry.alias_move(user=researcher, model=model, alias="staging", number=1)
    registry.alias_move(user=researcher, model=model, alias="staging", number=2)
    registry.alias_move(user=team_admin, model=model, alias="production", number=1)

    assert dict(model.aliases.values_list("name", "version__number")) == {"staging": 2, "production": 1}
    history = list(
        AliasMove.objects.order_by("id").values_list("alias", "from_number", "to_number", "moved_by__username")
    )
    assert history == [
        ("staging", None, 1, "researcher"),
        ("staging", 1, 2, "researcher"),
        ("production", None, 1, "lead"),
    ]


def test_only_team_admins_and_site_admins_move_production(researcher, admin, model, trained_job):
    register(researcher, model, trained_job)

    with pytest.raises(PermissionDenied) as refused:
        registry.alias_move(user=researcher, model=model, alias="production", number=1)
    assert str(refused.value) == access.MAY_NOT_MOVE_PRODUCTION
    assert not model.aliases.exists() and not AliasMove.objects.exists()

    registry.alias_move(user=admin, model=model, alias="production", number=1)
    assert model.aliases.get().name == "production"


def test_an_alias_moves_only_to_a_version_of_its_model(researcher, team_a, model, trained_job):
    other = registry.model_create(user=researcher, team_id=team_a.pk, name="segmenter")
    register(researcher, other, trained_job)

    with pytest.raises(ValidationError) as refused:
        registry.alias_move(user=researcher, model=model, alias="staging", number=1)

    assert refused.value.message_dict == {"version": [registry.NO_SUCH_VERSION_NUMBER.format(number=1)]}


def test_a_version_an_alias_points_at_is_not_deleted(researcher, model, trained_job):
    aliased = register(researcher, model, trained_job)
    spare = register(researcher, model, trained_job)
    registry.alias_move(user=researcher, model=model, alias="staging", number=1)

    with pytest.raises(Conflict) as refused:
        registry.version_delete(user=researcher, version=aliased)
    assert refused.value.status == 409 and refused.value.extra == {"conflicts": ["staging"]}
    assert version_folder(version=aliased).is_dir()

    registry.version_delete(user=researcher, version=spare)
    assert list(model.versions.values_list("number", flat=True)) == [1]
    assert not version_folder(version=spare).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_distinct_numbers(researcher, model, trained_job):
    numbers, errors = [], []

    def one():
        try:
            numbers.append(register(researcher, model, trained_job).number)
        except Exception as exc:  # the test reports any failure below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(numbers) == [1, 2, 3, 4]


def test_the_database_refuses_changing_a_version_its_files_or_the_history(team_admin, model, trained_job):
    from django.db import DatabaseError, transaction

    version = register(team_admin, model, trained_job)
    registry.alias_move(user=team_admin, model=model, alias="staging", number=1)

    for change in (
        lambda: ModelVersion.objects.filter(pk=version.pk).update(metrics={"map50": 1.0}),
        lambda: ModelFile.objects.filter(version=version).update(sha256="0" * 64),
        lambda: AliasMove.objects.update(to_number=2),
    ):
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
            change()
    team_admin.delete()  # the people columns stay writable: SET_NULL still works
    assert ModelVersion.objects.get(pk=version.pk).registered_by is None
    assert AliasMove.objects.get().moved_by is None


def test_a_deleted_versions_number_is_never_reused(researcher, model, trained_job):
    register(researcher, model, trained_job)
    newest = register(researcher, model, trained_job)

    registry.version_delete(user=researcher, version=newest)

    assert register(researcher, model, trained_job).number == 3
