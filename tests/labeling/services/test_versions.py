"""Dataset versions: seeded splits that keep episodes whole, content hash, stats, leaks, immutability."""

import random

import pytest
from django.db import DatabaseError, transaction
from hypothesis import given
from hypothesis import strategies as st

from labeling.ingest.fingerprints import hamming_distance
from labeling.models import DatasetVersion, Item, Slice, VersionItem
from labeling.services.versions import (
    NO_ITEMS,
    RATIOS_MUST_SUM_TO_ONE,
    leaks_between,
    split_of,
    version_create,
)
from tests.actors import api_client_for

pytestmark = pytest.mark.django_db


def make_item(dataset, heights, phashes=None, kind="image", name=None):
    item = Item.objects.create(
        dataset=dataset,
        kind=kind,
        name=name or f"item-{Item.objects.count()}",
        width=100,
        height=sum(heights),
        slice_count=len(heights),
    )
    offset = 0
    for position, height in enumerate(heights):
        sha = f"{random.getrandbits(256):064x}"
        phash = phashes[position] if phashes else f"{random.getrandbits(64):016x}"
        Slice.objects.create(
            dataset=dataset,
            item=item,
            position=position,
            offset_y=offset,
            width=100,
            height=height,
            sha256=sha,
            perceptual_hash=phash,
            byte_size=1,
            source="upload",
            source_format="PNG",
            original_name="x.png",
            original_byte_size=1,
            thumbnail_width=1,
            thumbnail_height=1,
        )
        offset += height
    return item


@pytest.fixture
def populated(dataset):
    random.seed(7)
    items = [make_item(dataset, [400]) for _ in range(40)]
    episode = make_item(dataset, [300, 200, 500, 100, 250], kind="episode", name="Episode 1")
    return items, episode


def test_a_version_snapshots_items_with_seeded_splits_that_keep_episodes_whole(populated, dataset, researcher):
    items, episode = populated
    version = version_create(dataset=dataset, user=researcher, seed=42)
    rows = {vi.item_id: vi for vi in version.version_items.all()}
    assert set(rows) == {i.pk for i in items} | {episode.pk}
    # The episode is one row: its 5 slices, with their offsets, are in one split by construction.
    snap = rows[episode.pk].snapshot
    assert [s["offset_y"] for s in snap["slices"]] == [0, 300, 500, 1000, 1100]
    assert len({rows[episode.pk].split}) == 1
    # Oracle: the split of each item recomputed from the seed alone.
    ratios = {"train": 0.8, "val": 0.1, "test": 0.1}
    assert all(vi.split == split_of(seed=42, item_id=item_id, ratios=ratios) for item_id, vi in rows.items())
    assert version.stats["items"] == 41 and version.stats["slices"] == 45 and version.stats["episodes"] == 1
    assert sum(version.stats["splits"].values()) == 41
    assert version.stats["splits"]["train"] > version.stats["splits"]["test"]
    assert version.number == 1 and len(version.content_hash) == 64


def test_the_same_seed_gives_the_same_hash_and_another_seed_another(populated, dataset, researcher):
    first = version_create(dataset=dataset, user=researcher, seed=1)
    again = version_create(dataset=dataset, user=researcher, seed=1)
    other = version_create(dataset=dataset, user=researcher, seed=2)
    assert (first.number, again.number, other.number) == (1, 2, 3)
    assert first.content_hash == again.content_hash != other.content_hash


def test_a_version_never_changes(populated, dataset, researcher):
    version = version_create(dataset=dataset, user=researcher, seed=3)
    before = (version.content_hash, sorted(version.version_items.values_list("item_id", "split")))
    make_item(dataset, [100])  # the dataset moves on; the version does not
    with pytest.raises(DatabaseError), transaction.atomic():
        VersionItem.objects.filter(version=version).update(split="test")
    with pytest.raises(DatabaseError), transaction.atomic():
        DatasetVersion.objects.filter(pk=version.pk).update(note="changed")
    version.refresh_from_db()
    assert (version.content_hash, sorted(version.version_items.values_list("item_id", "split"))) == before
    client = api_client_for(researcher)
    for method in ("put", "patch", "delete"):
        assert (
            getattr(client, method)(f"/api/v1/versions/{version.pk}/", {"note": "x"}, format="json").status_code == 405
        )


def test_a_train_test_near_duplicate_flags_the_version(dataset, researcher):
    a = make_item(dataset, [100], phashes=["f0f0f0f0f0f0f0f0"])
    b = make_item(dataset, [100], phashes=["f0f0f0f0f0f0f0f1"])  # 1 bit apart
    ratios = {"train": 0.5, "val": 0.0, "test": 0.5}
    seed = next(
        s
        for s in range(1000)
        if {split_of(seed=s, item_id=a.pk, ratios=ratios), split_of(seed=s, item_id=b.pk, ratios=ratios)}
        == {"train", "test"}
    )
    version = version_create(dataset=dataset, user=researcher, seed=seed, ratios=ratios)
    assert len(version.leaks) == 1 and version.leaks[0]["distance"] == 1
    assert {version.leaks[0]["train"], version.leaks[0]["test"]} == {a.pk, b.pk}
    response = api_client_for(researcher).get(f"/api/v1/versions/{version.pk}/")
    assert response.json()["flagged"] is True


@given(
    st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=25),
    st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=25),
    st.integers(0, 12),
    st.randoms(),
)
def test_leaks_match_a_brute_force_comparison(train_hashes, test_hashes, bits, rnd):
    # Make some pairs close on purpose: flip a few bits of train hashes into the test set.
    test_hashes = test_hashes + [h ^ (1 << rnd.randrange(64)) ^ (1 << rnd.randrange(64)) for h in train_hashes[:5]]
    train = [{"item": i, "sha256": f"tr{i}", "phash": f"{h:016x}"} for i, h in enumerate(train_hashes)]
    test = [{"item": 1000 + i, "sha256": f"te{i}", "phash": f"{h:016x}"} for i, h in enumerate(test_hashes)]
    expected = sorted(
        (t["item"], u["item"]) for t in train for u in test if hamming_distance(t["phash"], u["phash"]) <= bits
    )
    assert (
        sorted((leak["train"], leak["test"]) for leak in leaks_between(train=train, test=test, bits=bits)) == expected
    )


def test_bad_ratios_and_empty_datasets_are_400(dataset, researcher):
    client = api_client_for(researcher)
    empty = client.post(f"/api/v1/datasets/{dataset.pk}/versions/", {"seed": 1}, format="json")
    assert empty.status_code == 400 and empty.json()["errors"] == {"non_field_errors": [NO_ITEMS]}
    make_item(dataset, [100])
    bad = client.post(
        f"/api/v1/datasets/{dataset.pk}/versions/", {"ratios": {"train": 0.9, "val": 0.2, "test": 0}}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["errors"] == {"ratios": [RATIOS_MUST_SUM_TO_ONE]}


def test_versions_over_the_api(populated, dataset, researcher, annotator, outsider):
    client = api_client_for(researcher)
    created = client.post(f"/api/v1/datasets/{dataset.pk}/versions/", {"seed": 5, "note": "first"}, format="json")
    assert created.status_code == 201 and created["Location"] == f"/api/v1/versions/{created.json()['id']}/"
    version_id = created.json()["id"]
    assert [v["number"] for v in client.get(f"/api/v1/datasets/{dataset.pk}/versions/").json()] == [1]
    page = client.get(f"/api/v1/versions/{version_id}/items/?split=train&page_size=10").json()
    assert len(page["results"]) == 10 and all(r["split"] == "train" for r in page["results"]) and page["next"]
    assert api_client_for(annotator).get(f"/api/v1/versions/{version_id}/").status_code == 200
    assert (
        api_client_for(annotator).post(f"/api/v1/datasets/{dataset.pk}/versions/", {}, format="json").status_code == 403
    )
    for url in [
        f"/api/v1/versions/{version_id}/",
        f"/api/v1/versions/{version_id}/items/",
        f"/api/v1/datasets/{dataset.pk}/versions/",
    ]:
        assert api_client_for(outsider).get(url).status_code == 404, url


def test_deleting_the_dataset_takes_its_versions(populated, dataset, researcher):
    version_create(dataset=dataset, user=researcher, seed=1)
    dataset.delete()
    assert DatasetVersion.objects.count() == 0 and VersionItem.objects.count() == 0 and Item.objects.count() == 0


def test_a_diff_lists_items_added_removed_changed_and_moved(populated, dataset, researcher, outsider):
    items, episode = populated
    v1 = version_create(dataset=dataset, user=researcher, seed=1)
    new_item = make_item(dataset, [120])
    v2 = version_create(dataset=dataset, user=researcher, seed=2)
    client = api_client_for(researcher)
    diff = client.get(f"/api/v1/versions/{v2.pk}/diff/?against={v1.pk}").json()
    assert diff["added"] == [new_item.pk] and diff["removed"] == [] and diff["changed"] == []
    # Oracle: the moves, recomputed from the stored rows of both versions.
    old = dict(v1.version_items.values_list("item_id", "split"))
    new = dict(v2.version_items.values_list("item_id", "split"))
    expected = [{"item": i, "from": old[i], "to": new[i]} for i in sorted(old) if old[i] != new[i]]
    assert diff["split_changed"] == expected and expected  # seeds 1 and 2 move some of 41 items
    back = client.get(f"/api/v1/versions/{v1.pk}/diff/?against={v2.pk}").json()
    assert back["removed"] == [new_item.pk] and back["added"] == []
    assert client.get(f"/api/v1/versions/{v2.pk}/diff/").status_code == 400
    assert api_client_for(outsider).get(f"/api/v1/versions/{v2.pk}/diff/?against={v1.pk}").status_code == 404


def test_a_diff_sees_a_changed_snapshot(populated, dataset, researcher):
    from labeling.selectors.versions import version_diff

    v1 = version_create(dataset=dataset, user=researcher, seed=1)
    episode = populated[1]
    Slice.objects.filter(item=episode, position=4).delete()  # the episode lost its last slice
    Item.objects.filter(pk=episode.pk).update(slice_count=4, height=1100)
    v2 = version_create(dataset=dataset, user=researcher, seed=1)
    assert version_diff(base=v1, other=v2)["changed"] == [episode.pk]
    assert v1.content_hash != v2.content_hash
