"""Who may do what on the fleet endpoints (docs/decisions.md §2): everyone signed in sees nodes and GPUs,
only site admins drain and undrain (403 for the others, who may see the GPU), anonymous is 401."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.actors import api_client_for
from tests.scheduler.fleet.readings import make_gpu

pytestmark = pytest.mark.django_db

ACTORS = ["researcher", "annotator", "reviewer", "team_admin", "outsider", "admin"]
READS = ["/api/v1/nodes/", "/api/v1/gpus/", "/api/v1/gpus/{gpu}/", "/api/v1/gpus/{gpu}/metrics/"]
WRITES = [
    ("/api/v1/gpus/{gpu}/drain/", {"reason": "maintenance"}),
    ("/api/v1/gpus/{gpu}/undrain/", None),
    ("/api/v1/nodes/{node}/drain/", {"reason": "maintenance"}),
    ("/api/v1/nodes/{node}/undrain/", None),
]


@pytest.fixture
def world(researcher, annotator, reviewer, team_admin, outsider, admin):
    gpu = make_gpu(node_name="matrix-node", heartbeat=timezone.now())
    return {"gpu": gpu.id, "node": gpu.node_id}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("path", READS)
def test_every_signed_in_user_reads_the_fleet(world, request, actor, path):
    response = api_client_for(request.getfixturevalue(actor)).get(path.format(**world))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(("path", "body"), WRITES)
def test_only_site_admins_drain_and_undrain(world, request, actor, path, body):
    response = api_client_for(request.getfixturevalue(actor)).post(path.format(**world), body, format="json")
    expected = 200 if actor == "admin" else 403
    assert response.status_code == expected, response.content
    assert response.status_code == 200 or response.json()["detail"]


@pytest.mark.parametrize("path", READS + [path for path, _ in WRITES])
def test_anonymous_gets_401(world, path):
    client = APIClient()
    response = (
        client.get(path.format(**world)) if path in READS else client.post(path.format(**world), {}, format="json")
    )
    assert response.status_code == 401


def test_a_missing_gpu_is_404_for_admins_too(world, admin):
    assert api_client_for(admin).post("/api/v1/gpus/999999/drain/", {"reason": "x"}, format="json").status_code == 404
