"""The embedded broker writes each message whole: a polling consumer never reads a partial file."""

import json
import threading

from kombu import Connection

from portal.broker import install


def test_messages_appear_in_the_queue_folder_only_when_complete(tmp_path):
    install()
    queue, staging = tmp_path / "queue", tmp_path / "staging"
    queue.mkdir()
    options = {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(tmp_path / "control"),
        "staging_folder": str(staging),
    }
    seen_partial = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            for path in queue.glob("*.msg"):
                try:
                    json.loads(path.read_bytes())
                except FileNotFoundError:
                    continue
                except ValueError:
                    seen_partial.append(path.name)

    watcher = threading.Thread(target=watch)
    watcher.start()
    with Connection("filesystem://", transport_options=options) as conn:
        simple = conn.SimpleQueue("probe")
        for n in range(300):
            simple.put({"n": n, "pad": "x" * 20000})
        stop.set()
        watcher.join()
        received = [simple.get(timeout=5).payload["n"] for _ in range(300)]
        simple.close()
    assert seen_partial == []
    assert sorted(received) == list(range(300))
    assert list(staging.iterdir()) == []
