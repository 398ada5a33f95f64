"""The seeds' synchronous senders: the dashboard's IngestView and the helper functions."""

import random

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from rest_framework.response import Response
from rest_framework.views import APIView


def random_data():
    return [random.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) for i in range(7)]


class IngestView(APIView):
    def post(self, request):
        channel_layer = get_channel_layer()
        text = random_data()
        async_to_sync(channel_layer.group_send)(
            "index",
            {
                "type": "websocket.ingest",
                "text": text,
            },
        )
        return Response([])

    def get(self, request):
        return Response([])


def send_message_to_group(room_name, message):
    channel_layer = get_channel_layer()
    async_to_sync(channel_layer.group_send)(
        f"chat_{room_name}",  # Group name
        {
            "type": "chat_message",  # Method to call in consumers
            "message": message,
        },
    )


def send_notification_to_user(user_id, message):
    channel_layer = get_channel_layer()
    async_to_sync(channel_layer.group_send)(
        f"notifications_{user_id}",  # Group name
        {
            "type": "send_notification",  # Method to call in consumers
            "message": message,
        },
    )
