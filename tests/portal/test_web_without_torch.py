"""The web process never imports torch (issue 22: serving queues to an inference worker instead)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
from portal.asgi import application  # noqa: F401  (the web process's entry: apps ready, routes built)
from django.urls import get_resolver
get_resolver().url_patterns  # every urlconf and the views it names
print("torch" in sys.modules)
"""


def test_loading_the_web_app_and_every_route_leaves_torch_unimported():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False", "the web process imported torch"
