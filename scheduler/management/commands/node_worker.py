"""Start the Celery worker of this GPU node: one queue `node.<name>`, one thread slot per GPU (docs/decisions.md §6).

With the simulated fleet, one worker serves every simulated node's queue, or only --node's (two
workers for two emulated nodes on one host). It also takes the
`default` queue (scheduling passes, notifications, housekeeping) and `inference` (model serving, a CPU
task) unless --no-default is given.
"""

import os
import socket
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from scheduler.dispatch import node_queue
from scheduler.execution.node_serving import node_servers_elsewhere
from scheduler.execution.ownership import WORKER_NODES_ENV
from scheduler.gpu.backends import DEFAULT_SIM_FLEET, backend_for

DB_POOL_MAX_SIZE_ENV = "ATELIER_DB_POOL_MAX_SIZE"
EXTRA_SLOTS = 2  # beside the per-GPU runner slots: scheduling passes and housekeeping never wait on jobs


class Command(BaseCommand):
    help = "Run the Celery worker for this node's GPUs (or every simulated node)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--node", help="node name (default: ATELIER_NODE_NAME, else this host's name; simulated: every node)"
        )
        parser.add_argument("--hostname", default="", help="Celery worker name (default: atelier@<host>)")
        parser.add_argument("--no-default", action="store_true", help="do not consume the default queue")
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args, **options):
        options["node"] = options["node"] or settings.NODE_NAME or None
        nodes, gpu_count = self._local_nodes(options["node"])
        self._refuse_nodes_served_elsewhere(nodes)
        # With the default queue the worker also serves `inference` (model serving, docs/models.md "Serving"):
        # a CPU task on one of the extra slots, as housekeeping is.
        shared = [] if options["no_default"] else ["default", settings.PREDICT_QUEUE]
        queues = [node_queue(name) for name in nodes] + shared
        os.environ[WORKER_NODES_ENV] = ",".join(nodes)  # the nodes whose attempts this worker owns
        threads = gpu_count + EXTRA_SLOTS
        # No connection pool in a node worker: its threads already bound its connections (a runner
        # keeps its thread's connection for its job's whole run), and across a database cut the pool's
        # stuck reconnects kept a requeued attempt from the database until it was judged lost again
        # (drill: test_no_healthy_job_killed). The pool bounds the web process's bursts.
        os.environ[DB_POOL_MAX_SIZE_ENV] = "0"
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            str(threads),
            "--queues",
            ",".join(queues),
            "--hostname",
            options["hostname"] or f"{options['node'] or 'atelier'}@{socket.gethostname()}",
            "--loglevel",
            options["loglevel"],
            "--without-mingle",
            "--without-gossip",
        ]
        self.stdout.write(f"node worker for {', '.join(nodes)}: {gpu_count} GPU slots")
        os.execv(argv[0], argv)

    def _refuse_nodes_served_elsewhere(self, nodes: list[str]) -> None:
        try:
            servers = node_servers_elsewhere(nodes=nodes, host=socket.gethostname())
        except DatabaseError as exc:  # the worker waits for the database anyway; say what was not checked
            self.stderr.write(f"could not check whether another host serves {', '.join(nodes)}: {exc}")
            return
        if not servers:
            return
        now = timezone.now()
        served = "; ".join(
            f"node {s.node!r} by the worker on host {s.host!r} (seen {(now - s.last_seen).total_seconds():.0f} s ago)"
            for s in servers
        )
        raise CommandError(
            f"Not starting: a live worker already serves {served}. Two workers for one node would both take "
            "its jobs. Stop that worker first, or give this one another name (--node or ATELIER_NODE_NAME)."
        )

    def _local_nodes(self, node: str | None) -> tuple[list[str], int]:
        backend = backend_for(setting=settings.GPU_BACKEND, sim_fleet_spec=settings.SIM_FLEET or DEFAULT_SIM_FLEET)
        try:
            if backend.simulated:
                readings = [r for r in backend.read_fleet() if node is None or r.hostname == node]
                if not readings:
                    raise CommandError(f"--node {node}: the simulated fleet has no such node.")
                return [r.hostname for r in readings], sum(len(r.gpus) for r in readings)
            reading = backend.read()
            return [node or reading.hostname], len(reading.gpus)
        finally:
            backend.close()
