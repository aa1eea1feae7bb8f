"""`manage.py replay_trace TRACE --gpus 128 --gpus-per-node 8 [--vc HASH] [--policy ...]`.

Thin wrapper: the options and the simulation live in scheduler.policy.replay, which also runs
without Django (`python -m scheduler.policy.replay`).
"""

from django.core.management.base import BaseCommand

from scheduler.policy import replay


class Command(BaseCommand):
    help = "Replay a GPU-cluster trace through the scheduling policy (no database)."

    def add_arguments(self, parser):
        replay.add_arguments(parser)

    def handle(self, *args, **options):
        replay.run_from_options(_Options(options), stdout=self.stdout)


class _Options:
    """Django passes a dict; the replay reads attributes like argparse's namespace."""

    def __init__(self, options: dict):
        self.__dict__.update({key.replace("-", "_"): value for key, value in options.items()})
