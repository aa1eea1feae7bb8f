"""Demo data of the labeling side for `make run`: a webtoon series with characters, a dataset of
generated strips and one 3-slice episode (ingested through the real pipeline, so tiles exist), and
labeling tasks, one of them already in the annotator's queue. Idempotent."""

import io

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from labeling.models import Dataset, Series, Task
from labeling.services.annotation_tasks import task_assign, tasks_create
from labeling.services.datasets import dataset_create, series_create
from labeling.services.imports import upload_import_create
from labeling.services.ingest import import_job_run
from portal.teams.models import Team

DEMO_DATASET = "Demo webtoon strips"
DEMO_SERIES = "Moonlit Ink"
DEMO_CHARACTERS = ("Haneul", "Dokja", "Seo-yeon")
STRIP_SIZE = (800, 5000)
SLICE_SIZE = (800, 1600)


def demo_labeling_seed(**kwargs) -> None:
    team = Team.objects.filter(name="Vision").first()
    researcher = get_user_model().objects.filter(username="researcher").first()
    if team is None or researcher is None or Dataset.objects.filter(team=team, name=DEMO_DATASET).exists():
        return
    series = Series.objects.filter(team=team, title=DEMO_SERIES).first() or series_create(
        team_id=team.pk, title=DEMO_SERIES, characters=list(DEMO_CHARACTERS)
    )
    dataset = dataset_create(
        user=researcher,
        team_id=team.pk,
        name=DEMO_DATASET,
        series_id=series.pk,
        description="Generated strips to try the workspace on; replace with real art.",
    )
    strips = [_upload(f"strip-{n + 1}.png", _strip_png(STRIP_SIZE, seed=n)) for n in range(2)]
    import_job_run(import_job_id=upload_import_create(dataset=dataset, user=researcher, files=strips).pk)
    slices = [_upload(f"episode-1-slice-{n + 1}.png", _strip_png(SLICE_SIZE, seed=10 + n)) for n in range(3)]
    episode = upload_import_create(
        dataset=dataset, user=researcher, files=slices, as_episode=True, episode_name="Episode 1"
    )
    import_job_run(import_job_id=episode.pk)
    tasks_create(dataset=dataset, user=researcher)
    annotator = get_user_model().objects.filter(username="annotator").first()
    first = Task.objects.filter(dataset=dataset).order_by("id").first()
    if annotator is not None and first is not None:
        task_assign(task=first, user=researcher, assignee=annotator)


def _upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def _strip_png(size: tuple[int, int], *, seed: int) -> bytes:
    """Panels with gutters, bubbles and a figure: enough shape to draw boxes around."""
    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    top = 40
    panel = 0
    while top < height - 400:
        panel_height = 600 + ((seed * 7 + panel * 131) % 400)
        bottom = min(top + panel_height, height - 40)
        shade = 200 + (seed * 13 + panel * 29) % 50
        draw.rectangle(
            [40, top, width - 40, bottom], fill=(shade, shade - 20, 255 - shade // 3), outline="black", width=4
        )
        draw.ellipse([80, top + 40, 380, top + 200], fill="white", outline="black", width=3)  # a speech bubble
        draw.text((130, top + 110), f"panel {panel + 1}", fill="black")
        figure_x = 420 + (panel * 53) % 200
        draw.ellipse([figure_x, top + 260, figure_x + 120, top + 380], fill=(240, 200, 170), outline="black", width=3)
        draw.rectangle([figure_x + 10, top + 380, figure_x + 110, min(top + 640, bottom - 10)], fill=(60, 80, 140))
        top = bottom + 120
        panel += 1
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False, compress_level=1)
    return buffer.getvalue()
