"""Pascal VOC: the export parses with xml.etree, split shapes keep one group id, polygons keep points."""

import xml.etree.ElementTree as ElementTree

import pytest

from tests.labeling.formats.helpers import run_export

pytestmark = pytest.mark.django_db


def test_voc_parses_with_xml_etree(version, researcher):
    _, files = run_export(version, researcher, "voc")
    xmls = {name: ElementTree.fromstring(data) for name, data in files.items() if name.startswith("Annotations/")}
    assert len(xmls) == 5
    objects = [o for root in xmls.values() for o in root.iter("object")]
    assert len(objects) == 10
    bubble = [o for o in objects if o.find("atelier/shape").text == "b1"]
    assert {o.find("atelier/group").text for o in bubble} != {""} and len(
        {o.find("atelier/group").text for o in bubble}
    ) == 1
    sfx = next(o for o in objects if o.find("name").text == "sfx")
    assert [sfx.find(f"bndbox/{k}").text for k in ("xmin", "ymin", "xmax", "ymax")] == ["5", "5", "40", "30"]
    assert len(sfx.findall("polygon/pt")) == 3
    assert files["ImageSets/Main/train.txt"].decode().count("\n") == 5
