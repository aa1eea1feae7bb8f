"""`manage.py gpu_agent [--node NAME] [--interval SECONDS] [--once]`: the GPU node agent.

Thin: opens the backend from settings and runs scheduler.agent.Agent until SIGTERM/SIGINT.
"""

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scheduler.agent import Agent
from scheduler.gpu.backends import DEFAULT_SIM_FLEET, BackendUnavailable, backend_for

log = logging.getLogger("scheduler.agent")


class Command(BaseCommand):
    help = "Sample this node's GPUs (or the whole simulated fleet) every interval and publish them."

    def add_arguments(self, parser):
        parser.add_argument(
            "--node",
            help="node name (default ATELIER_NODE_NAME; NVML: overrides the hostname; simulated: play only this node)",
        )
        parser.add_argument(
            "--interval", type=float, default=None, help="seconds between samples (default ATELIER_AGENT_INTERVAL)"
        )
        parser.add_argument("--once", action="store_true", help="take one sample, write it, and exit")

    def handle(self, *args, node=None, interval=None, once=False, **options):
        interval = interval if interval is not None else settings.AGENT_INTERVAL
        node = node or settings.NODE_NAME or None
        if interval <= 0:
            raise CommandError("--interval must be positive")
        try:
            backend = backend_for(
                setting=settings.GPU_BACKEND,
                sim_fleet_spec=settings.SIM_FLEET or DEFAULT_SIM_FLEET,
                node=node,
                hostname=node,
            )
        except (BackendUnavailable, ValueError) as exc:
            raise CommandError(str(exc)) from None
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        reason = getattr(backend, "reason", None)
        log.info("GPU agent: backend %s%s, every %.2fs", backend.name, f" ({reason})" if reason else "", interval)
        with backend:
            Agent(backend=backend, node=node, flush_interval=0 if once else None).run(
                interval=interval, stop=stop, once=once
            )
