"""Where the parts of an attempt across nodes find each other: torch.distributed's environment
rendezvous (`init_method="env://"`, or torchrun's flags), docs/jobs.md "Jobs across nodes".

Atelier starts one process group per node. In it, the command sees itself as one member of a world
of NNODES: WORLD_SIZE and RANK describe that world (a plain `init_process_group` works as is), and
NNODES, NODE_RANK and LOCAL_WORLD_SIZE are what a launcher that starts one process per GPU (torchrun
--nnodes $NNODES --node_rank $NODE_RANK --nproc_per_node $LOCAL_WORLD_SIZE) needs; it then sets
WORLD_SIZE and RANK again for its own children.
"""

import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Rendezvous:
    master_addr: str  # rank 0's host
    master_port: int  # free on rank 0's host, chosen per attempt
    nnodes: int


def rendezvous_environment(*, rendezvous: Rendezvous, node_rank: int, local_gpus: int) -> dict[str, str]:
    if not 0 <= node_rank < rendezvous.nnodes:
        raise ValueError(f"node rank {node_rank} outside a world of {rendezvous.nnodes} nodes")
    return {
        "MASTER_ADDR": rendezvous.master_addr,
        "MASTER_PORT": str(rendezvous.master_port),
        "NNODES": str(rendezvous.nnodes),
        "NODE_RANK": str(node_rank),
        "WORLD_SIZE": str(rendezvous.nnodes),
        "RANK": str(node_rank),
        "LOCAL_WORLD_SIZE": str(local_gpus),
    }


def free_port() -> int:
    """A TCP port nobody listens on now, from the kernel's ephemeral range. Chosen by rank 0's worker
    when it claims; the port may be taken before the job binds it, and the job then fails at its
    rendezvous (and is not retried on a fixed port that is taken for good)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]
