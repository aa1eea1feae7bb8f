"""The environment a job runs with: an allow-list, never the portal's own secrets (docs/decisions.md §6)."""

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

ALLOWED_NAMES = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME", "SHELL", "TMPDIR")
ALLOWED_PREFIXES = ("CUDA_", "ATELIER_INPUT_")
# What a job may set itself: a plain POSIX name, and nothing that would change how the portal or
# the process loader behaves.
JOB_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
FORBIDDEN_JOB_VARIABLES = (
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "DATABASE_URL",
    "SECRET_KEY",
    "CELERY_BROKER_URL",
    "REDIS_URL",
)
FORBIDDEN_JOB_PREFIXES = ("DJANGO_", "ATELIER_", "CUDA_VISIBLE_DEVICES")

BAD_VARIABLE_NAME = (
    "{name!r} is not a valid environment variable name (letters, digits and _, not starting with a digit)."
)
RESERVED_VARIABLE = "{name!r} is set by Atelier or would change how the job is started; choose another name."


def job_variable_errors(variables: Mapping[str, str]) -> list[str]:
    errors = []
    for name in variables:
        if not JOB_VARIABLE_NAME.match(name):
            errors.append(BAD_VARIABLE_NAME.format(name=name))
        elif name in FORBIDDEN_JOB_VARIABLES or name.startswith(FORBIDDEN_JOB_PREFIXES):
            errors.append(RESERVED_VARIABLE.format(name=name))
    return errors


def job_environment(
    *,
    base: Mapping[str, str] | None = None,
    job_variables: Mapping[str, str],
    gpu_uuids: list[str],
    output_dir: str,
    inputs: Mapping[str, str],
    python_prefix: str = "",
    path_entries: Sequence[str] = (),
) -> dict[str, str]:
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if k in ALLOWED_NAMES or k.startswith(ALLOWED_PREFIXES)}
    env.update(job_variables)
    for name, value in inputs.items():
        env[f"ATELIER_INPUT_{name.upper()}"] = value
    # UUIDs, not indices: they name the same devices whatever the enumeration order.
    env["CUDA_VISIBLE_DEVICES"] = ",".join(gpu_uuids)
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    env["ATELIER_OUTPUT_DIR"] = output_dir
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    if python_prefix:
        env.update(runtime_variables(python_prefix=python_prefix, path_entries=path_entries, path=env["PATH"]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def runtime_variables(*, python_prefix: str, path_entries: Sequence[str], path: str) -> dict[str, str]:
    """PATH with the runtime environment's bin and extra entries first, so `python` resolves inside it,
    and the variable its tools look for: CONDA_PREFIX for a conda env, VIRTUAL_ENV for a venv."""
    prefix = Path(python_prefix)
    variables = {"PATH": os.pathsep.join([str(prefix / "bin"), *path_entries, path])}
    if (prefix / "conda-meta").is_dir():
        variables["CONDA_PREFIX"] = str(prefix)
    elif (prefix / "pyvenv.cfg").is_file():
        variables["VIRTUAL_ENV"] = str(prefix)
    return variables
