"""Who may receive which topic. Apps register a guard for their own topic prefixes.

Topics look like `public`, `user.<id>`, `team.<id>`, `staff`, or `<prefix>.<id>` for things with
their own access rules (a job's log stream, say): the prefix's guard decides.
"""

from collections.abc import Callable

from portal.teams.access import team_ids_of

TopicGuard = Callable[[object, str], bool]
_guards: dict[str, TopicGuard] = {}


def register_topic_guard(prefix: str, guard: TopicGuard) -> None:
    _guards[prefix] = guard


def default_topics_for(user) -> set[str]:
    """Topics every connection of this user receives without asking."""
    topics = {"public", f"user.{user.pk}"} | {f"team.{team_id}" for team_id in team_ids_of(user)}
    if user.is_staff:
        topics.add("staff")
    return topics


def may_subscribe(user, topic: str) -> bool:
    prefix, _, ident = topic.partition(".")
    guard = _guards.get(prefix)
    return bool(guard and ident and guard(user, ident))
