"""Runtime environments: registering them (site admins, through the Django admin) and choosing one
for a job (docs/jobs.md, "Runtime environments")."""

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from scheduler.models import RuntimeEnvironment

SHIPPED_NAME = "atelier-training"
SHIPPED_DESCRIPTION = "The training environment Atelier ships (Python with torch)."
PREFIX_NOT_ABSOLUTE = "Give the prefix as an absolute path, e.g. /opt/envs/torch."
PREFIX_HAS_NO_PYTHON = (
    "{prefix} has no bin/python: give the folder of a venv or conda env (the one that holds bin/python)."
)
PATH_ENTRY_NOT_ABSOLUTE = "Each PATH entry must be an absolute directory; {entry!r} is not."
ENVIRONMENT_MISSING_ON_NODE = (
    "The environment {name!r} has no bin/python at {prefix} on node {node}: ask a site admin to install it "
    "there or to fix the environment."
)
ENVIRONMENT_UNKNOWN = "There is no environment named {name!r}. Registered: {names}."


def environment_errors(*, python_prefix: str, path_entries: list[str]) -> dict[str, list[str]]:
    """What is wrong with a prefix and PATH entries, by field; empty when they can run a job."""
    errors: dict[str, list[str]] = {}
    prefix = Path(python_prefix)
    if not prefix.is_absolute():
        errors["python_prefix"] = [PREFIX_NOT_ABSOLUTE]
    elif not _has_python(prefix):
        errors["python_prefix"] = [PREFIX_HAS_NO_PYTHON.format(prefix=prefix)]
    if bad := [PATH_ENTRY_NOT_ABSOLUTE.format(entry=e) for e in path_entries if not Path(e).is_absolute()]:
        errors["path_entries"] = bad
    return errors


def _has_python(prefix: Path) -> bool:
    python = prefix / "bin" / "python"
    return python.is_file() and bool(python.stat().st_mode & 0o111)


def environment_missing_reason(*, environment: RuntimeEnvironment | None, node: str) -> str:
    """Why a job cannot start on this node in its environment (a prefix that exists on the portal's
    host need not exist on every node); empty when it can."""
    if environment is None or _has_python(Path(environment.python_prefix)):
        return ""
    return ENVIRONMENT_MISSING_ON_NODE.format(name=environment.name, prefix=environment.python_prefix, node=node)


@transaction.atomic
def environment_save(*, environment: RuntimeEnvironment) -> RuntimeEnvironment:
    """Validate and store an environment; a new default takes the flag from the old one."""
    errors = environment_errors(python_prefix=environment.python_prefix, path_entries=environment.extra_path)
    if errors:
        raise ValidationError(errors)
    if environment.is_default:
        RuntimeEnvironment.objects.filter(is_default=True).exclude(pk=environment.pk).update(is_default=False)
    environment.save()
    return environment


def environment_default() -> RuntimeEnvironment:
    """The environment of a job that names none. With no default registered (a fresh install, or the
    admin removed it) the shipped one is registered now: the portal's own prefix, which has torch."""
    for _ in range(2):  # a concurrent first use may register it between our read and our insert
        default = RuntimeEnvironment.objects.filter(is_default=True).first()
        if default is not None:
            return default
        try:
            with transaction.atomic():
                shipped, _ = RuntimeEnvironment.objects.get_or_create(
                    name=SHIPPED_NAME,
                    defaults={
                        "python_prefix": settings.JOB_DEFAULT_ENVIRONMENT_PREFIX,
                        "description": SHIPPED_DESCRIPTION,
                    },
                )
                RuntimeEnvironment.objects.filter(pk=shipped.pk).update(is_default=True)
        except IntegrityError:
            continue
    return RuntimeEnvironment.objects.get(is_default=True)


def environment_for_job(name: str | None, errors: dict) -> RuntimeEnvironment | None:
    """The environment a job asked for by name, or the default; an unknown name is an error on `environment`."""
    if not name:
        return environment_default()
    environment_default()  # the shipped one may be named before its first use
    environment = RuntimeEnvironment.objects.filter(name=name).first()
    if environment is None:
        names = ", ".join(RuntimeEnvironment.objects.values_list("name", flat=True))
        errors["environment"] = [ENVIRONMENT_UNKNOWN.format(name=name, names=names)]
    return environment
