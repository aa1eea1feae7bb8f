"""Wall time and peak RSS of normalize + the DZI writer on tall strips (numbers for docs/ingest.md).

Not a test. Run: .venv/bin/python -m tests.labeling.ingest.measure_tiles 20000 60000
The strips are drawn first; then each one is normalized and tiled in a fresh process, so the
peak RSS printed belongs to that run alone (drawing the input is not counted).
"""

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from labeling.ingest.images import normalize
from labeling.ingest.limits import IngestLimits
from labeling.ingest.tiles import write_deep_zoom


def draw_strip(*, path: Path, width: int, height: int) -> None:
    """Panels, outlines and gradients on white: compresses like drawn art, not like a blank."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for top in range(0, height, 1200):
        draw.rectangle([40, top + 40, width - 40, top + 1100], outline="black", width=4)
        for step in range(0, 1000, 25):
            left = 60 + (step * 7) % (width - 260)
            draw.ellipse([left, top + 60 + step, left + 100, top + 160 + step], outline=(step % 255, 90, 200), width=3)
        for row in range(top + 600, min(top + 800, height)):
            draw.line([45, row, width - 45, row], fill=(255 - (row - top - 600), 200, 180))
    image.save(path, "PNG")


def measure_normalize(source: Path) -> str:
    started = time.perf_counter()
    result = normalize(source=source, limits=IngestLimits(), output_path=source.with_name("normalized.png"))
    seconds = time.perf_counter() - started
    return (
        f"{result.width} x {result.height}: normalize {seconds:.2f} s, PNG {result.byte_size / 1e6:.1f} MB, "
        f"peak RSS {_peak_mib():.0f} MiB"
    )


def measure_tiles(source: Path) -> str:
    started = time.perf_counter()
    pyramid = write_deep_zoom(
        image_path=source.with_name("normalized.png"), output_dir=source.parent, name="strip", limits=IngestLimits()
    )
    seconds = time.perf_counter() - started
    return (
        f"{pyramid.width} x {pyramid.height}: DZI + thumbnail {seconds:.2f} s, {pyramid.tile_count} tiles "
        f"in {pyramid.level_count} levels, peak RSS {_peak_mib():.0f} MiB"
    )


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main(heights: list[int]) -> None:
    print(f"baseline (interpreter + Pillow + this module): {_baseline_mib():.0f} MiB")
    for height in heights:
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "strip.png"
            draw_strip(path=source, width=800, height=height)
            for step in ("measure_normalize", "measure_tiles"):
                _in_fresh_process(f"print({step}(Path({str(source)!r})))")


def _baseline_mib() -> float:
    output = _in_fresh_process("print(_peak_mib())", capture=True)
    return float(output)


def _in_fresh_process(statement: str, capture: bool = False) -> str:
    code = (
        f"from pathlib import Path; from {__spec__.name} import *; from {__spec__.name} import _peak_mib; {statement}"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=capture, text=True)
    return done.stdout if capture else ""


if __name__ == "__main__":
    main([int(argument) for argument in sys.argv[1:]] or [20000, 60000])
