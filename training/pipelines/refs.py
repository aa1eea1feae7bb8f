"""References inside a spec's values: `{{ params.NAME }}` and `{{ steps.STEP.outputs.OUTPUT }}`.

A value that is exactly one reference takes the referenced value itself (so `epochs: "{{ params.epochs }}"`
is an int); a reference inside longer text is written into it as text.
"""

import re
from dataclasses import dataclass

NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_PARAM = re.compile(rf"params\.({NAME})")
_OUTPUT = re.compile(rf"steps\.({NAME})\.outputs\.({NAME})")

NOT_A_REFERENCE = (
    "“{{{{{text}}}}}” is not a reference: write {{{{ params.NAME }}}} or {{{{ steps.STEP.outputs.OUTPUT }}}}."
)
UNCLOSED = "“{{” without its closing “}}”."


@dataclass(frozen=True)
class Ref:
    step: str = ""  # a step's output when set …
    output: str = ""
    param: str = ""  # … else a run parameter

    def __str__(self) -> str:
        return f"steps.{self.step}.outputs.{self.output}" if self.step else f"params.{self.param}"


class RefError(ValueError):
    pass


def refs_in(text: str) -> list[Ref]:
    """Every reference in `text`, in order; RefError names the first malformed one."""
    found = []
    for match in _TEMPLATE.finditer(text):
        found.append(_ref(match.group(1).strip()))
    rest = _TEMPLATE.sub("", text)
    if "{{" in rest:
        raise RefError(UNCLOSED)
    return found


def whole_ref(text: str) -> Ref | None:
    """The reference `text` is, when it is nothing but one reference."""
    match = _TEMPLATE.fullmatch(text.strip())
    return _ref(match.group(1).strip()) if match else None


def _ref(inner: str) -> Ref:
    if match := _PARAM.fullmatch(inner):
        return Ref(param=match.group(1))
    if match := _OUTPUT.fullmatch(inner):
        return Ref(step=match.group(1), output=match.group(2))
    raise RefError(NOT_A_REFERENCE.format(text=inner[:60]))


def substitute(value, resolve):
    """`value` with each reference replaced by `resolve(ref)`: whole references keep the value's type."""
    if isinstance(value, str):
        if (ref := whole_ref(value)) is not None:
            return resolve(ref)
        return _TEMPLATE.sub(lambda match: as_text(resolve(_ref(match.group(1).strip()))), value)
    if isinstance(value, list):
        return [substitute(item, resolve) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, resolve) for key, item in value.items()}
    return value


def as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
