"""kombu's filesystem transport with atomic writes.

kombu creates the message file in the queue folder and then writes it: a consumer polling at that
moment moves and reads an empty or partial file, and the worker dies on the JSON error. Here the
message is written in a staging folder and renamed into the queue folder (rename is atomic on one
file system), so a consumer only ever sees whole messages.
"""

import os
import uuid
from pathlib import Path
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        filename = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        staging = Path(self.transport_options.get("staging_folder") or Path(self.data_folder_out).parent / "staging")
        staging.mkdir(parents=True, exist_ok=True)
        temporary = staging / filename
        temporary.write_bytes(str_to_bytes(dumps(payload)))
        os.replace(temporary, Path(self.data_folder_out) / filename)


class Transport(filesystem.Transport):
    Channel = Channel


def install() -> None:
    """Make `filesystem://` URLs use this transport (called before Celery connects)."""
    TRANSPORT_ALIASES["filesystem"] = "portal.broker:Transport"
