"""A step's cache key and why it hit or missed (docs/pipelines.md "Caching").

The key is sha256 of the canonical JSON of its parts: the step type, the step's code version (for a step
that runs a job: its command, environment and the sha256 of every code file it declares), its parameters
with run parameters substituted, and the sha256 of every input artifact. Anything mutable a step reads
("the latest version", an alias) is resolved before the key is made, and the resolved value joins the
parts, so the key sees content, never names. Pure Python, like the rest of this package.
"""

from dataclasses import dataclass

from training.pipelines.spec import content_hash

NO_CODE = "Not cached: the step declares no code files (`code:`), and a command alone does not say what it runs."
ALIAS_ELSEWHERE = "Not reused: the alias does not point at this version now, so the step moves it."
DISABLED = "Not cached: the step's cache policy is off."
RUN_WITHOUT_CACHE = "Not looked up: the run was started without cache."
FIRST = "Missed: no earlier run of this step has these inputs and this code."
HIT = "Hit: the same key as step “{step}” of run {run}."
CHANGED = "Missed: changed since run {run}: {parts}."


@dataclass(frozen=True)
class CacheKey:
    key: str
    parts: dict  # what was hashed, each part as its own sha256 (or value), to compare with an earlier run


def cache_key(*, step_type: str, code: dict, parameters: dict, inputs: dict[str, str], resolved: dict) -> CacheKey:
    """`code`: command, env, environment, {path: sha256}; `inputs`: input name → artifact sha256;
    `resolved`: what a mutable reference resolved to (e.g. {"version": 7, "content_hash": …})."""
    parts = {
        "type": step_type,
        "code": content_hash(code) if code else "",
        "code_files": dict(sorted(code.get("files", {}).items())) if code else {},
        "parameters": {name: content_hash(value) for name, value in sorted(parameters.items())},
        "inputs": dict(sorted(inputs.items())),
        "resolved": content_hash(resolved) if resolved else "",
    }
    return CacheKey(key=content_hash(parts), parts=parts)


def cache_difference(now: dict, before: dict) -> list[str]:
    """The parts that differ between two keys' parts, named for a person ("parameters.command", "inputs.dataset")."""
    changed = [part for part in ("type", "resolved") if now.get(part) != before.get(part)]
    for group in ("code_files", "parameters", "inputs"):
        mine, theirs = now.get(group, {}), before.get(group, {})
        changed += [f"{group}.{name}" for name in sorted(set(mine) | set(theirs)) if mine.get(name) != theirs.get(name)]
    if now.get("code") != before.get("code") and not any(c.startswith("code_files.") for c in changed):
        changed.append("code (command, environment or variables)")
    return changed


def miss_note(*, now: dict, before: dict | None, before_run: int | None) -> str:
    if before is None:
        return FIRST
    changed = cache_difference(now, before)
    return CHANGED.format(run=before_run, parts=", ".join(changed) or "nothing hashed (the entry was forgotten)")
