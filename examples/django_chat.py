"""The Channels tutorial's chat, on tidings: Django views and templates, a Channels consumer.

Run it (one process, in-memory layer):

    python examples/django_chat.py                 # http://127.0.0.1:8002/

or several processes sharing Redis (a message typed on one reaches the pages of all):

    REDIS_URL=redis://127.0.0.1:6379/0 python examples/django_chat.py --port 8002
    REDIS_URL=redis://127.0.0.1:6379/0 python examples/django_chat.py --port 8003

Needs `pip install 'tidings[redis,server,django]'`. This is the tutorial's project squeezed
into one file (settings, URLs, views, templates, consumer, routing); the consumer is the
tutorial's async ChatConsumer unchanged. Only ``CHANNEL_LAYERS`` names tidings. The
tutorial's ``AuthMiddlewareStack`` is left out because it needs a database for sessions.
"""

import argparse
import json
import os
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="example-only",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    INSTALLED_APPS=["channels"],
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
    CHANNEL_LAYERS={
        "default": (
            {"BACKEND": "tidings.RedisChannelLayer", "CONFIG": {"hosts": [os.environ["REDIS_URL"]]}}
            if os.environ.get("REDIS_URL")
            else {"BACKEND": "tidings.MemoryChannelLayer"}
        )
    },
)
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.template import engines  # noqa: E402
from django.urls import path  # noqa: E402

INDEX = engines["django"].from_string("""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Chat Rooms</title></head>
<body>
  What chat room would you like to enter?<br>
  <input id="room-name-input" type="text" size="100"><br>
  <input id="room-name-submit" type="button" value="Enter">
  <script>
    document.querySelector('#room-name-input').focus();
    document.querySelector('#room-name-input').onkeyup = function(e) {
      if (e.key === 'Enter') { document.querySelector('#room-name-submit').click(); }
    };
    document.querySelector('#room-name-submit').onclick = function(e) {
      var roomName = document.querySelector('#room-name-input').value;
      window.location.pathname = '/chat/' + roomName + '/';
    };
  </script>
</body></html>""")

ROOM = engines["django"].from_string("""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Chat Room</title></head>
<body>
  <textarea id="chat-log" cols="100" rows="20"></textarea><br>
  <input id="chat-message-input" type="text" size="100"><br>
  <input id="chat-message-submit" type="button" value="Send">
  {{ room_name|json_script:"room-name" }}
  <script>
    const roomName = JSON.parse(document.getElementById('room-name').textContent);
    const chatSocket = new WebSocket('ws://' + window.location.host + '/ws/chat/' + roomName + '/');
    chatSocket.onmessage = function(e) {
      const data = JSON.parse(e.data);
      document.querySelector('#chat-log').value += (data.message + '\\n');
    };
    chatSocket.onclose = function(e) { console.error('Chat socket closed unexpectedly'); };
    document.querySelector('#chat-message-input').focus();
    document.querySelector('#chat-message-input').onkeyup = function(e) {
      if (e.key === 'Enter') { document.querySelector('#chat-message-submit').click(); }
    };
    document.querySelector('#chat-message-submit').onclick = function(e) {
      const messageInputDom = document.querySelector('#chat-message-input');
      chatSocket.send(JSON.stringify({'message': messageInputDom.value}));
      messageInputDom.value = '';
    };
  </script>
</body></html>""")


def index(request):
    return HttpResponse(INDEX.render({}, request))


def room(request, room_name):
    return HttpResponse(ROOM.render({"room_name": room_name}, request))


urlpatterns = [path("", index), path("chat/<str:room_name>/", room)]


class ChatConsumer(AsyncWebsocketConsumer):  # the tutorial's, unchanged
    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"

        # Join room group
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)

        await self.accept()

    async def disconnect(self, close_code):
        # Leave room group
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    # Receive message from WebSocket
    async def receive(self, text_data):
        text_data_json = json.loads(text_data)
        message = text_data_json["message"]

        # Send message to room group
        await self.channel_layer.group_send(
            self.room_group_name, {"type": "chat.message", "message": message}
        )

    # Receive message from room group
    async def chat_message(self, event):
        message = event["message"]

        # Send message to WebSocket
        await self.send(text_data=json.dumps({"message": message}))


application = ProtocolTypeRouter(
    {
        "http": get_asgi_application(),
        "websocket": AllowedHostsOriginValidator(
            URLRouter([path("ws/chat/<str:room_name>/", ChatConsumer.as_asgi())])
        ),
    }
)

if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8002)
    port = parser.parse_args().port
    print(f"chat on http://127.0.0.1:{port}/", file=sys.stderr)
    uvicorn.run(application, host="127.0.0.1", port=port, log_level="warning")
