"""Label schemas: the classes, attributes and relation types a dataset is annotated with.

Pure Python, no Django: the annotation document check (labeling/documents.py) and the exports
read schemas through `normalized_schema`, which also fills what schemas written before colours
and hotkeys existed lack, so an old dataset keeps working.

A schema:
    {"classes": [{"name", "color", "hotkey", "shapes": ["box"|"polygon"|"tag", ...],
                  "attributes": [{"name", "type": "text"|"character"|"choice"|"tags",
                                  "choices": [...] (choice only)}]}],
     "relations": [{"name", "from": <class>, "to": <class>}]}
A class whose shapes are ["tag"] is an image-level tag.
"""

import re

SHAPE_TYPES = ("box", "polygon", "tag")
ATTRIBUTE_TYPES = ("text", "character", "choice", "tags")
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
_NAME = re.compile(r"^[^\x00-\x1f]{1,64}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_CLASSES = 200


class SchemaInvalid(ValueError):
    """The schema is malformed; `messages` say what to fix, one line each."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def default_webtoon_schema() -> dict:
    return {
        "classes": [
            {"name": "panel", "color": PALETTE[0], "hotkey": "1", "shapes": ["box", "polygon"], "attributes": []},
            {
                "name": "speech_bubble",
                "color": PALETTE[1],
                "hotkey": "2",
                "shapes": ["box", "polygon"],
                "attributes": [],
            },
            {
                "name": "character",
                "color": PALETTE[2],
                "hotkey": "3",
                "shapes": ["box", "polygon"],
                "attributes": [{"name": "name", "type": "character"}],
            },
            {
                "name": "text",
                "color": PALETTE[3],
                "hotkey": "4",
                "shapes": ["box", "polygon"],
                "attributes": [
                    {"name": "transcription", "type": "text"},
                    {"name": "language", "type": "choice", "choices": ["ko", "en", "ja", "zh", "other"]},
                ],
            },
            {
                "name": "sfx",
                "color": PALETTE[4],
                "hotkey": "5",
                "shapes": ["polygon", "box"],
                "attributes": [{"name": "transcription", "type": "text"}],
            },
            {"name": "flashback", "color": PALETTE[6], "hotkey": "6", "shapes": ["tag"], "attributes": []},
        ],
        "relations": [
            {"name": "speaker", "from": "text", "to": "character"},
            {"name": "bubble_text", "from": "speech_bubble", "to": "text"},
        ],
    }


def normalized_schema(schema: dict) -> dict:
    """The schema with every optional key filled; raises SchemaInvalid when it cannot be used."""
    if not isinstance(schema, dict) or not isinstance(schema.get("classes"), list) or not schema["classes"]:
        raise SchemaInvalid(["The label schema needs a non-empty list of classes, each with a unique name."])
    if len(schema["classes"]) > MAX_CLASSES:
        raise SchemaInvalid([f"A label schema has at most {MAX_CLASSES} classes."])
    classes = [_normalized_class(raw, number) for number, raw in enumerate(schema["classes"])]
    _check_unique([c["name"] for c in classes], "class name")
    _check_unique([c["hotkey"] for c in classes if c["hotkey"]], "hotkey")
    names = {c["name"] for c in classes}
    relations = [_normalized_relation(raw, names) for raw in schema.get("relations") or []]
    _check_unique([r["name"] for r in relations], "relation name")
    return {"classes": classes, "relations": relations}


def _normalized_class(raw, number: int) -> dict:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not _NAME.match(raw["name"]):
        raise SchemaInvalid([f"Class {number + 1} needs a name of 1 to 64 printable characters."])
    name = raw["name"]
    shapes = raw.get("shapes") or ["box", "polygon"]
    if not isinstance(shapes, list) or not shapes or any(s not in SHAPE_TYPES for s in shapes):
        raise SchemaInvalid([f"Class {name!r}: shapes must be a list drawn from {', '.join(SHAPE_TYPES)}."])
    color = raw.get("color") or PALETTE[number % len(PALETTE)]
    if not isinstance(color, str) or not _COLOR.match(color):
        raise SchemaInvalid([f"Class {name!r}: colour must look like #1f77b4."])
    hotkey = raw.get("hotkey", str(number + 1) if number < 9 else "")
    if hotkey not in ("", *"123456789"):
        raise SchemaInvalid([f"Class {name!r}: hotkey must be one of 1 to 9, or empty."])
    attributes = [_normalized_attribute(a, name) for a in raw.get("attributes") or []]
    _check_unique([a["name"] for a in attributes], f"attribute name in class {name!r}")
    return {
        "name": name,
        "color": color,
        "hotkey": hotkey,
        "shapes": list(dict.fromkeys(shapes)),
        "attributes": attributes,
    }


def _normalized_attribute(raw, class_name: str) -> dict:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not _NAME.match(raw["name"]):
        raise SchemaInvalid([f"Class {class_name!r}: each attribute needs a name of 1 to 64 characters."])
    kind = raw.get("type", "text")
    if kind not in ATTRIBUTE_TYPES:
        raise SchemaInvalid([f"Attribute {raw['name']!r}: type must be one of {', '.join(ATTRIBUTE_TYPES)}."])
    attribute = {"name": raw["name"], "type": kind}
    if kind == "choice":
        choices = raw.get("choices")
        if not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices):
            raise SchemaInvalid([f"Attribute {raw['name']!r}: a choice attribute needs a list of choices."])
        attribute["choices"] = choices
    return attribute


def _normalized_relation(raw, class_names: set[str]) -> dict:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not _NAME.match(raw["name"]):
        raise SchemaInvalid(["Each relation type needs a name of 1 to 64 characters."])
    for end in ("from", "to"):
        if raw.get(end) not in class_names:
            raise SchemaInvalid([f"Relation {raw['name']!r}: {end!r} must name a class of the schema."])
    return {"name": raw["name"], "from": raw["from"], "to": raw["to"]}


def _check_unique(values: list[str], what: str) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise SchemaInvalid([f"Each {what} must be unique; {value!r} appears twice."])
        seen.add(value)
