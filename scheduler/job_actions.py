"""Actions other apps offer on the job page (a "Register model" button, say), without the scheduler
importing them: an app registers a provider in its AppConfig.ready(), as with register_topic_guard.

A provider gets the viewer and the job and returns the buttons it offers: (label, url) pairs, none
when the action does not apply (a job that has not succeeded, a viewer without the right).
"""

from collections.abc import Callable

JobAction = tuple[str, str]
JobActionProvider = Callable[[object, object], list[JobAction]]
_providers: dict[str, JobActionProvider] = {}


def register_job_action(name: str, provider: JobActionProvider) -> None:
    _providers[name] = provider


def job_actions_for(user, job) -> list[JobAction]:
    return [action for name in sorted(_providers) for action in _providers[name](user, job)]
