"""GET /api/v1/environments/ (read-only, everyone signed in) and a job's `environment` field."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from scheduler.models import Job, RuntimeEnvironment
from scheduler.services import environments as env_services
from tests.actors import api_client_for
from tests.scheduler.factories import fleet

pytestmark = pytest.mark.django_db


def test_a_fresh_install_lists_the_shipped_environment_as_the_default(researcher):
    response = api_client_for(researcher).get("/api/v1/environments/")
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": RuntimeEnvironment.objects.get().pk,
            "name": env_services.SHIPPED_NAME,
            "description": env_services.SHIPPED_DESCRIPTION,
            "python_prefix": settings.JOB_DEFAULT_ENVIRONMENT_PREFIX,
            "path_entries": [],
            "is_default": True,
        }
    ]


def test_the_list_is_read_only_and_needs_a_sign_in(researcher, admin):
    assert APIClient().get("/api/v1/environments/").status_code in (401, 403)
    refused = api_client_for(admin).post("/api/v1/environments/", {"name": "x", "python_prefix": "/opt"}, format="json")
    assert refused.status_code == 405
    assert not RuntimeEnvironment.objects.filter(name="x").exists()


def submit(user, **fields):
    body = {"command": "python examples/train.py", "gpus": 1, "time_limit": "PT1H"} | fields
    return api_client_for(user).post("/api/v1/jobs/", body, format="json")


def test_a_job_shows_the_environment_it_runs_in(researcher):
    fleet(nodes=1, per_node=1)
    response = submit(researcher)
    assert response.status_code == 201
    assert response.json()["environment"] == env_services.SHIPPED_NAME
    named = submit(researcher, environment=env_services.SHIPPED_NAME)
    assert named.json()["environment"] == env_services.SHIPPED_NAME


def test_an_unknown_environment_is_a_400_on_its_field_and_nothing_is_written(researcher):
    fleet(nodes=1, per_node=1)
    response = submit(researcher, environment="tensorflow-1")
    assert response.status_code == 400
    message = env_services.ENVIRONMENT_UNKNOWN.format(name="tensorflow-1", names=env_services.SHIPPED_NAME)
    assert response.json()["errors"] == {"environment": [message]}
    assert not Job.objects.exists()
