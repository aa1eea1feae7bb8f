"""Pipeline specs (docs/pipelines.md): parsing, validation, content hashes and run parameters.

Pure Python, no Django (an import-linter contract says so), like the scheduling policy: a spec is a
document in, a typed `PipelineSpec` or a list of every problem with its path out, so property tests
can drive it and the API, the CLI and the spec editor all say the same thing.
"""

from training.pipelines.spec import (
    Problem,
    TeamLimits,
    Validation,
    canonical_json,
    content_hash,
    parse_text,
    validate,
    validate_text,
)

__all__ = [
    "Problem",
    "TeamLimits",
    "Validation",
    "canonical_json",
    "content_hash",
    "parse_text",
    "validate",
    "validate_text",
]
