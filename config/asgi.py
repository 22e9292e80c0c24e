"""ASGI entry point (daphne): HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.startup import load_settings_or_exit

load_settings_or_exit()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.urls import path  # noqa: E402

django_asgi_app = get_asgi_application()

from playback.consumers import PlaybackConsumer  # noqa: E402  (needs the apps loaded)
from playback.media_app import MediaRouter  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Audio bytes (/media/tracks/<id>) skip Django's middleware: see playback/media_app.py.
        "http": MediaRouter(django_asgi_app),
        # Browsers send an Origin header with websockets: only our own hosts may connect.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path("ws/playback", PlaybackConsumer.as_asgi())]))
        ),
    }
)
