"""Does a checkpoint load? Asked of a fresh Python process, never of the portal's own: a crafted or
huge file can only crash or exhaust that process (killed after ATELIER_MODEL_LOAD_TIMEOUT seconds), and
the web process never imports torch.

`python -m training.checkpoints PATH FORMAT` prints nothing and exits 0 when the file loads as FORMAT,
or prints the loader's first line and exits 1.
"""

import subprocess  # nosec B404 # runs this module with the portal's own interpreter, arguments as a list
import sys

from django.conf import settings

STATE_DICT = "torch_state_dict"
TORCHSCRIPT = "torchscript"
NOT_A_MAPPING = "it loads as a {kind}, not a mapping of names to tensors"
TIMED_OUT = "loading took more than {seconds:g} s"
CRASHED = "the loader stopped with status {code}"


def checkpoint_load_error(path: str, format: str) -> str | None:
    """None when the file loads as `format`; otherwise the loader's words."""
    seconds = settings.MODEL_LOAD_TIMEOUT
    try:
        result = subprocess.run(  # nosec B603 # our interpreter and module, the path as one argument
            [sys.executable, "-m", "training.checkpoints", path, format],
            capture_output=True,
            text=True,
            timeout=seconds,
            cwd=settings.BASE_DIR,
        )
    except subprocess.TimeoutExpired:
        return TIMED_OUT.format(seconds=seconds)
    if result.returncode == 0:
        return None
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return lines[-1][:500] if lines else CRASHED.format(code=result.returncode)


def _probe(path: str, format: str) -> str | None:
    import torch

    try:
        if format == TORCHSCRIPT:
            torch.jit.load(path, map_location="cpu")
            return None
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any loader error is the file's: report it in the loader's words
        text = str(exc).strip() or type(exc).__name__
        return text.splitlines()[0]
    return None if isinstance(loaded, dict) else NOT_A_MAPPING.format(kind=type(loaded).__name__)


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    error = _probe(sys.argv[1], sys.argv[2])
    if error:
        print(error)
    sys.exit(1 if error else 0)
