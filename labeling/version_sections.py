"""Sections other apps add to a dataset version's page (training's "Lineage": the jobs that read the
version and the models that learned from it), without labeling importing them: an app registers a
provider in its AppConfig.ready(), as with scheduler.job_actions and register_topic_guard.

A provider gets the viewer and the version and returns the section it shows, or None when it has
nothing to show that viewer. The page renders each section's template with `section` in its context.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class VersionSection:
    html_id: str  # the section's anchor on the page (`#lineage`)
    title: str
    template: str
    data: dict = field(default_factory=dict)


VersionSectionProvider = Callable[[object, object], VersionSection | None]
_providers: dict[str, VersionSectionProvider] = {}


def register_version_section(name: str, provider: VersionSectionProvider) -> None:
    _providers[name] = provider


def version_sections_for(user, version) -> list[VersionSection]:
    sections = (_providers[name](user, version) for name in sorted(_providers))
    return [section for section in sections if section is not None]
