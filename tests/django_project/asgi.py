"""The seeds' routing: ProtocolTypeRouter, AuthMiddlewareStack(URLRouter([...]))."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_project.settings")

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path

django_asgi_app = get_asgi_application()

from .consumers import ChatConsumer, IndexConsumer, NotificationConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AuthMiddlewareStack(
            URLRouter(
                [
                    path("ws/chat/<str:room_name>/", ChatConsumer.as_asgi()),
                    path("ws/notifications/", NotificationConsumer.as_asgi()),
                    path("index/", IndexConsumer.as_asgi()),
                ]
            )
        ),
    }
)
