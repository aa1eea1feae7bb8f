"""The labeling demo data: real ingested strips and an episode, tasks, one in the annotator's queue."""

import pytest

from labeling.models import Dataset, Item, Slice, Task
from portal.demo import demo_seed

pytestmark = pytest.mark.django_db


def test_the_demo_has_strips_an_episode_and_a_task_waiting_for_the_annotator():
    demo_seed()
    dataset = Dataset.objects.get(name="Demo webtoon strips")
    assert sorted(Item.objects.filter(dataset=dataset).values_list("kind", "slice_count")) == [
        ("episode", 3),
        ("image", 1),
        ("image", 1),
    ]
    episode = Item.objects.get(dataset=dataset, kind="episode")
    assert list(Slice.objects.filter(item=episode).values_list("offset_y", flat=True)) == [0, 1600, 3200]
    assert Task.objects.filter(dataset=dataset).count() == 3
    assert Task.objects.filter(dataset=dataset, assignee__username="annotator").count() == 1
    assert dataset.series.characters.count() == 3


def test_seeding_twice_changes_nothing():
    demo_seed()
    demo_seed()
    assert Dataset.objects.filter(name="Demo webtoon strips").count() == 1
    assert Task.objects.count() == 3
