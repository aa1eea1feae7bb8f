"""One ASGI app: HTTP (Django + whitenoise, bodies bounded per route) and websockets (Channels, session auth, same-origin only)."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django_http = get_asgi_application()  # must run before importing anything that touches models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from portal.body_limit import BodyLimit  # noqa: E402
from portal.realtime.origin import SameOriginValidator  # noqa: E402
from portal.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodyLimit(django_http),  # a body past its route's limit: 413 before Django reads it
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# Everything loaded at start-up lives as long as the process: move it out of the collector's reach.
# Otherwise each full collection walks it again, and on a page that allocates much (the GPU board:
# 1,024 cards, ~10,000 objects) one request in five paid 150-300 ms for it (docs/benchmarks.md).
gc.collect()
gc.freeze()
