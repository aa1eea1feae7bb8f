"""The GPU reading layer stays plain Python: the agent, bench and policy replay import it bare."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_gpu_layer_imports_without_django_or_pynvml() -> None:
    code = (
        "import sys\n"
        "import scheduler.gpu.backends, scheduler.gpu.backends.nvml, scheduler.gpu.rogue, scheduler.gpu.rollups\n"
        "scheduler.gpu.backends.SimulatedBackend().read_fleet()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'pynvml')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "[]"
