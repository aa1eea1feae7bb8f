"""The opaque references training/ hands to labeling: which model version predicted, and in which
pre-label run (labeling stores them on its `Prediction` rows and passes them back to its selectors;
it never reads them). One format, written and read only here."""

from portal.inputs import is_id_text

MODEL_VERSION_REF_PREFIX = "training:model-version:"
PRELABEL_RUN_REF_PREFIX = "training:prelabel-run:"


def model_version_ref(*, version_id: int) -> str:
    """What a prediction's `model_ref` holds: the registry's version (its id), never a free-text name."""
    return f"{MODEL_VERSION_REF_PREFIX}{version_id}"


def prelabel_run_ref(*, run_id: int) -> str:
    """What a prediction's `run_ref` holds: the pre-label run that wrote it."""
    return f"{PRELABEL_RUN_REF_PREFIX}{run_id}"


def model_version_id_from_ref(ref: str) -> int | None:
    """The version id a model reference names; None when it is not one of ours."""
    return _id_after(ref, MODEL_VERSION_REF_PREFIX)


def prelabel_run_id_from_ref(ref: str) -> int | None:
    return _id_after(ref, PRELABEL_RUN_REF_PREFIX)


def _id_after(ref, prefix: str) -> int | None:
    if not isinstance(ref, str) or not ref.startswith(prefix):
        return None
    ident = ref.removeprefix(prefix)
    return int(ident) if is_id_text(ident) else None
