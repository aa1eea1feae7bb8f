"""Runtime environments: registering them (service and Django admin) and a job choosing one."""

import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from scheduler.models import RuntimeEnvironment
from scheduler.services import environments as env_services
from scheduler.services.environments import environment_default, environment_save
from scheduler.services.jobs import job_submit
from tests.scheduler.factories import fleet


def python_prefix(tmp_path, name="env"):
    """A prefix holding an executable bin/python, as a venv or conda env does."""
    prefix = tmp_path / name
    (prefix / "bin").mkdir(parents=True)
    python = prefix / "bin" / "python"
    python.write_text("#!/bin/sh\necho fake python\n")
    python.chmod(0o755)
    return prefix


def test_the_shipped_environment_is_the_default_registered_on_first_use(db):
    assert not RuntimeEnvironment.objects.exists()
    first, second = environment_default(), environment_default()
    assert first == second and RuntimeEnvironment.objects.count() == 1
    assert (first.name, first.python_prefix, first.is_default) == (
        env_services.SHIPPED_NAME,
        settings.JOB_DEFAULT_ENVIRONMENT_PREFIX,
        True,
    )
    assert settings.JOB_DEFAULT_ENVIRONMENT_PREFIX == sys.prefix  # the portal's own, which has torch


def test_a_prefix_without_bin_python_is_refused_and_nothing_is_saved(db, tmp_path):
    with pytest.raises(ValidationError) as refused:
        environment_save(environment=RuntimeEnvironment(name="empty", python_prefix=str(tmp_path)))
    assert refused.value.message_dict == {"python_prefix": [env_services.PREFIX_HAS_NO_PYTHON.format(prefix=tmp_path)]}
    assert not RuntimeEnvironment.objects.exists()


def test_relative_prefixes_and_path_entries_are_refused(db):
    errors = env_services.environment_errors(python_prefix="envs/torch", path_entries=["/opt/tools/bin", "tools"])
    assert errors == {
        "python_prefix": [env_services.PREFIX_NOT_ABSOLUTE],
        "path_entries": [env_services.PATH_ENTRY_NOT_ABSOLUTE.format(entry="tools")],
    }


def test_a_new_default_takes_the_flag_from_the_old_one(db, tmp_path):
    shipped = environment_default()
    mine = environment_save(
        environment=RuntimeEnvironment(name="jax", python_prefix=str(python_prefix(tmp_path)), is_default=True)
    )
    shipped.refresh_from_db()
    assert mine.is_default and not shipped.is_default
    assert environment_default() == mine


def submit(user, **fields):
    return job_submit(
        user=user, **({"command": "python train.py", "gpus": 1, "time_limit": timedelta(hours=1)} | fields)
    )


def test_a_job_runs_in_the_default_environment_or_the_one_it_names(db, researcher, tmp_path):
    fleet(nodes=1, per_node=1)
    assert submit(researcher).environment == environment_default()
    mine = environment_save(environment=RuntimeEnvironment(name="jax", python_prefix=str(python_prefix(tmp_path))))
    assert submit(researcher, environment="jax").environment == mine


def test_a_job_naming_an_unknown_environment_is_refused_on_that_field(db, researcher):
    fleet(nodes=1, per_node=1)
    with pytest.raises(ValidationError) as refused:
        submit(researcher, environment="tensorflow-1")
    message = env_services.ENVIRONMENT_UNKNOWN.format(name="tensorflow-1", names=env_services.SHIPPED_NAME)
    assert refused.value.message_dict == {"environment": [message]}


def test_the_admin_refuses_a_prefix_without_python_beside_the_field(db, admin, client, tmp_path):
    client.force_login(admin)
    url = "/admin/scheduler/runtimeenvironment/add/"
    form = {"name": "broken", "description": "", "python_prefix": str(tmp_path), "path_entries": "/opt/tools/bin"}
    page = client.post(url, form)
    assert page.status_code == 200  # the form again, with the error beside the prefix
    assert page.context["adminform"].form.errors == {
        "python_prefix": [env_services.PREFIX_HAS_NO_PYTHON.format(prefix=tmp_path)]
    }
    assert not RuntimeEnvironment.objects.filter(name="broken").exists()
    saved = client.post(url, form | {"python_prefix": str(python_prefix(tmp_path)), "is_default": "on"})
    assert saved.status_code == 302
    registered = RuntimeEnvironment.objects.get(name="broken")
    assert registered.extra_path == ["/opt/tools/bin"] and registered.is_default
