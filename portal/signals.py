"""Sending a signal once the transaction commits, for the apps above the one that sends it.

Lower apps (scheduler, labeling) declare signals in their `signals` module and send them through
`send_after_commit`; upper apps (training) connect in AppConfig.ready(), so the lower app never imports
the upper one (docs/architecture.md). A receiver reads committed rows, must be cheap (enqueue a task),
and cannot break the sender: `send_robust` logs its error and goes on.
"""

import logging

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)


def send_after_commit(signal: Signal, **arguments) -> None:
    def send() -> None:
        for receiver, error in signal.send_robust(sender=None, **arguments):
            if isinstance(error, Exception):
                log.error("a receiver (%r) failed for %r", receiver, arguments, exc_info=error)

    transaction.on_commit(send)
