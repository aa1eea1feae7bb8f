"""Text that Python calls digits but `int()` refuses ("²", "¹²") is refused as bad input where a
number is read from a request, never a 500."""

import pytest

from portal.inputs import InputError, integer_from
from tests.actors import api_client_for

pytestmark = pytest.mark.django_db
NOT_NUMBERS = ["²", "¹²", "7²"]


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_integer_from_refuses_superscripts(text):
    with pytest.raises(InputError):
        integer_from(text)


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_an_if_match_of_superscripts_is_a_400(task, annotator, text):
    answer = api_client_for(annotator).put(
        f"/api/v1/tasks/{task.pk}/annotation/", {"shapes": []}, format="json", HTTP_IF_MATCH=f'"{text}"'
    )
    assert answer.status_code == 400 and "If-Match" in answer.json()["errors"]


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_a_diff_from_superscripts_is_a_400(task, annotator, text):
    answer = api_client_for(annotator).get(f"/api/v1/tasks/{task.pk}/annotation/diff/", {"from": text, "to": "0"})
    assert answer.status_code == 400 and "from" in answer.json()["errors"]


def test_the_register_page_for_a_job_of_superscripts_is_a_404(client, researcher):
    client.force_login(researcher)
    assert client.get("/models/register/", {"job": "²"}).status_code == 404
