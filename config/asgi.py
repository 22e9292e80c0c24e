"""ASGI entry point (served by uvicorn): HTTP through Django, websockets through Channels."""

from __future__ import annotations

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.startup import load_settings_or_exit

load_settings_or_exit()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from imports.upload_limit import is_upload, upload_allowance  # noqa: E402
from ops.body_limit import BodyLimit  # noqa: E402
from ops.streamed_body import StreamingASGIHandler  # noqa: E402
from playback.consumers import PlaybackConsumer  # noqa: E402  (needs the apps loaded)
from playback.media_app import MediaRouter  # noqa: E402

# Uploads are read from the connection as they are parsed, not from a copy of their own.
django_asgi_app = StreamingASGIHandler(streams=is_upload)

application = ProtocolTypeRouter(
    {
        # Request bodies are limited before anything reads them (the export upload's larger limit
        # for signed-in users within its rate limit); audio bytes (/media/tracks/<id>) skip
        # Django's middleware: see ops/body_limit.py and playback/media_app.py.
        "http": BodyLimit(
            MediaRouter(django_asgi_app),
            limit=settings.REQUEST_MAX_BODY_KB * 1024,
            allowance=upload_allowance,
        ),
        # Browsers send an Origin header with websockets: only our own hosts may connect.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path("ws/playback", PlaybackConsumer.as_asgi())]))
        ),
    }
)

# The garbage collector's full passes walk every object of the process: with a thousand players
# connected they took tens of milliseconds, all at once, and made the slowest of the realtime
# deliveries three times slower (bench/realtime.py: p99 135-175 ms, and 29-90 ms with this).
# What is loaded by now lives as long as the process: out of the collector's sight. And the young
# generation is collected after 50,000 allocations rather than 700, the older ones less often.
gc.freeze()
gc.set_threshold(50_000, 50, 100)
