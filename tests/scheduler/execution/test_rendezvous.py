"""Issue 25: the torch.distributed rendezvous environment each part of an attempt across nodes gets."""

import socket

import pytest

from scheduler.execution.rendezvous import Rendezvous, free_port, rendezvous_environment

MEETING = Rendezvous(master_addr="gpu-a.cluster.test", master_port=29_517, nnodes=2)


def test_each_part_sees_rank_0s_host_the_attempts_port_and_its_own_rank():
    assert rendezvous_environment(rendezvous=MEETING, node_rank=1, local_gpus=4) == {
        "MASTER_ADDR": "gpu-a.cluster.test",
        "MASTER_PORT": "29517",
        "NNODES": "2",
        "NODE_RANK": "1",
        "WORLD_SIZE": "2",
        "RANK": "1",
        "LOCAL_WORLD_SIZE": "4",
    }
    assert rendezvous_environment(rendezvous=MEETING, node_rank=0, local_gpus=2)["NODE_RANK"] == "0"


@pytest.mark.parametrize("rank", [-1, 2])
def test_a_rank_outside_the_world_is_refused(rank):
    with pytest.raises(ValueError, match="outside a world of 2"):
        rendezvous_environment(rendezvous=MEETING, node_rank=rank, local_gpus=1)


def test_the_free_port_can_be_listened_on():
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("", port))
        server.listen()
    assert 1024 <= port <= 65_535
