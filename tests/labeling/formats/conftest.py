"""The version the format tests export (tests/labeling/formats/helpers.py `annotated_version`)."""

import pytest

from tests.labeling.formats.helpers import annotated_version


@pytest.fixture
def version(dataset, researcher):
    return annotated_version(dataset, researcher)
