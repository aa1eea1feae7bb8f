"""Embedded Celery brokers compared: kombu's filesystem transport vs its SQLAlchemy transport on SQLite.

    .venv/bin/python bench/broker.py [--messages 500]

Measures, for each transport, in one process with a producer and a consumer connection:
- latency: publish one message, wait for it to be received (median and p95 over N round trips);
- throughput: publish N messages, then drain them all (messages per second).
Results go in docs/benchmarks.md.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from kombu import Connection, Exchange, Queue


def transports(workdir: Path) -> dict[str, tuple[str, dict]]:
    folder = workdir / "fs"
    (folder / "queue").mkdir(parents=True)
    (folder / "processed").mkdir()
    (folder / "control").mkdir()
    return {
        "filesystem": (
            "filesystem://",
            {
                "data_folder_in": str(folder / "queue"),
                "data_folder_out": str(folder / "queue"),
                "control_folder": str(folder / "control"),
                "store_processed": False,
            },
        ),
        "sqlalchemy+sqlite": (f"sqla+sqlite:///{workdir / 'broker.sqlite3'}", {}),
    }


def measure(url: str, options: dict, messages: int) -> dict:
    queue = Queue("bench", Exchange("bench", type="direct"), routing_key="bench")
    with Connection(url, transport_options=options) as conn:
        producer = conn.Producer(serializer="json")
        simple = conn.SimpleQueue(queue)
        latencies = []
        for n in range(messages):
            sent = time.perf_counter()
            producer.publish({"n": n}, exchange=queue.exchange, routing_key="bench", declare=[queue])
            message = simple.get(block=True, timeout=10)
            message.ack()
            latencies.append((time.perf_counter() - sent) * 1000)
        started = time.perf_counter()
        for n in range(messages):
            producer.publish({"n": n}, exchange=queue.exchange, routing_key="bench", declare=[queue])
        for _ in range(messages):
            simple.get(block=True, timeout=10).ack()
        elapsed = time.perf_counter() - started
        simple.close()
    latencies.sort()
    return {
        "latency_p50_ms": statistics.median(latencies),
        "latency_p95_ms": latencies[int(len(latencies) * 0.95) - 1],
        "throughput_msg_s": messages / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, (url, options) in transports(Path(tmp)).items():
            result = measure(url, options, args.messages)
            print(
                f"{name:<20} latency p50 {result['latency_p50_ms']:7.2f} ms  p95 {result['latency_p95_ms']:7.2f} ms  "
                f"throughput {result['throughput_msg_s']:8.0f} msg/s"
            )


if __name__ == "__main__":
    main()
