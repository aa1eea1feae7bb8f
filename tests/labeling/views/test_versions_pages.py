"""The versions pages: the list with stats and the freeze form, one version's page, and its diff;
and the dataset grid's filters."""

import pytest

from labeling.services.versions import version_create
from labeling.views.datasets import COMPARE_TWO
from tests.labeling.builders import box, make_item, make_task, save_document, tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_versions(dataset, researcher, annotator):
    strip = make_item(dataset, name="strip <one>")
    task = make_task(strip, assignee=annotator, status="submitted", shapes=[box("a1", "panel"), box("a2", "text")])
    make_item(dataset, name="plain")
    v1 = version_create(dataset=dataset, user=researcher, seed=1, note="baseline")
    save_document(task, status="accepted", shapes=[box("a1", "panel", x=9), box("a3", "sfx"), tag("t1", "flashback")])
    added = make_item(dataset, name="added strip")
    v2 = version_create(dataset=dataset, user=researcher, seed=1, note="reviewed")
    return {"v1": v1, "v2": v2, "strip": strip, "added": added}


def test_the_list_shows_each_version_with_its_stats(client, researcher, dataset, two_versions):
    client.force_login(researcher)
    page = client.get(f"/labeling/datasets/{dataset.pk}/versions/")
    assert page.status_code == 200
    html = page.content.decode()
    v1, v2 = two_versions["v1"], two_versions["v2"]
    assert [v.pk for v in page.context["versions"]] == [v2.pk, v1.pk]
    row = html.split(f'data-version="{v2.pk}"')[1].split("</tr>")[0]
    assert f'href="/labeling/versions/{v2.pk}/">v2</a> · reviewed' in row
    assert "<td>3</td><td>3</td><td>0</td>" in row  # items, slices, episodes
    assert '<span class="chip">flashback 1</span>' in row and '<span class="chip">sfx 1</span>' in row
    splits = v2.stats["splits"]
    assert f"{splits['train']} / {splits['val']} / {splits['test']}" in row and "<td>1</td>" in row  # annotated
    assert 'id="compare-form"' in html and 'id="version-create"' in html


def test_annotators_see_versions_but_cannot_freeze_one(client, annotator, outsider, dataset, two_versions):
    client.force_login(annotator)
    page = client.get(f"/labeling/datasets/{dataset.pk}/versions/")
    assert page.status_code == 200 and b'id="version-create"' not in page.content
    assert client.post(f"/labeling/datasets/{dataset.pk}/versions/", {"seed": "1"}).status_code == 403
    assert client.get(f"/labeling/versions/{two_versions['v1'].pk}/").status_code == 200
    client.force_login(outsider)
    for url in [
        f"/labeling/datasets/{dataset.pk}/versions/",
        f"/labeling/versions/{two_versions['v1'].pk}/",
        f"/labeling/versions/{two_versions['v2'].pk}/?against={two_versions['v1'].pk}",
        f"/labeling/datasets/{dataset.pk}/versions/compare/?base=1&other=2",
    ]:
        assert client.get(url).status_code == 404, url


def test_freezing_from_the_list_lands_back_on_it(client, researcher, dataset, two_versions):
    client.force_login(researcher)
    response = client.post(f"/labeling/datasets/{dataset.pk}/versions/", {"seed": "4", "note": "third"}, follow=True)
    assert response.redirect_chain == [(f"/labeling/datasets/{dataset.pk}/versions/", 302)]
    assert b"Version 3 frozen: 3 items." in response.content and b"v3</a> \xc2\xb7 third" in response.content


def test_a_version_page_shows_stats_classes_and_the_diff(client, researcher, dataset, two_versions):
    v1, v2, strip, added = two_versions["v1"], two_versions["v2"], two_versions["strip"], two_versions["added"]
    client.force_login(researcher)
    alone = client.get(f"/labeling/versions/{v2.pk}/")
    html = alone.content.decode()
    assert "<td>flashback</td><td>1</td>" in html and v2.content_hash in html
    assert alone.context["diff"] is None and 'id="diff-form"' in html and 'id="diff-summary"' not in html

    compare = client.get(f"/labeling/datasets/{dataset.pk}/versions/compare/?base={v1.pk}&other={v2.pk}")
    assert compare.status_code == 302 and compare["Location"] == f"/labeling/versions/{v2.pk}/?against={v1.pk}#diff"
    page = client.get(f"/labeling/versions/{v2.pk}/?against={v1.pk}")
    html = page.content.decode()
    assert "Changes from v1 to v2" in html
    row = html.split(f'<tr data-item="{strip.pk}">')[1].split("</tr>")[0]
    assert "strip &lt;one&gt;" in row and "strip <one>" not in html  # names are escaped
    assert "submitted → accepted" in row
    assert '<td class="shapes-added">2 <code>a3, t1</code></td>' in row
    assert '<td class="shapes-removed">1 <code>a2</code></td>' in row
    assert '<td class="shapes-changed">1 <code>a1</code></td>' in row
    assert f'<a href="/labeling/items/{added.pk}/">added strip</a>' in html.split('id="diff-added"')[1]
    assert '<li data-count="shapes">shapes: +2 −1 ~1</li>' in html


def test_comparing_needs_two_versions_of_the_dataset(client, researcher, dataset, two_versions):
    client.force_login(researcher)
    v1 = two_versions["v1"]
    response = client.get(f"/labeling/datasets/{dataset.pk}/versions/compare/?base={v1.pk}&other=999999", follow=True)
    assert COMPARE_TWO.encode() in response.content
    page = client.get(f"/labeling/versions/{v1.pk}/?against=999999")
    assert page.context["diff"] is None and COMPARE_TWO.encode() in page.content


def test_the_grid_filters_by_class_annotator_and_status_and_keeps_them_across_pages(
    client, researcher, annotator, dataset, monkeypatch
):
    monkeypatch.setattr("labeling.views.datasets.GRID_PAGE_SIZE", 2)
    items = [make_item(dataset, name=f"i{n}", status="done" if n % 2 else "new") for n in range(6)]
    for n in (0, 1, 2, 3, 5):
        make_task(
            items[n], assignee=annotator if n != 5 else researcher, shapes=[box(f"p{n}", "panel")] if n < 4 else []
        )
    make_task(items[4], assignee=annotator, shapes=[tag("t4", "flashback")], overlap_index=1)
    client.force_login(researcher)

    def names(query):
        page = client.get(f"/labeling/datasets/{dataset.pk}/?{query}")
        assert page.status_code == 200
        return [cell["item"].name for cell in page.context["cells"]], page

    assert names("class=panel")[0] == ["i3", "i2"]
    first, page = names(f"class=panel&annotator={annotator.pk}")
    assert first == ["i3", "i2"]
    link = page.content.decode().split('id="next-page" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "class=panel" in link and f"annotator={annotator.pk}" in link
    assert [c["item"].name for c in client.get(f"/labeling/datasets/{dataset.pk}/{link}").context["cells"]] == [
        "i1",
        "i0",
    ]
    assert names("tag=flashback")[0] == ["i4"]
    assert names("status=done&class=panel")[0] == ["i3", "i1"]
    assert names(f"annotator={researcher.pk}")[0] == ["i5"]
    html = page.content.decode()
    assert (
        '<option value="panel" selected>panel</option>' in html
        and '<option value="flashback">flashback</option>' in html
    )
    assert f'<option value="{annotator.pk}" selected>annotator</option>' in html
    bad, page = names("tag=panel")
    assert len(bad) == 2 and b"Not a tag of this dataset" in page.content  # the filter is dropped, with a message
