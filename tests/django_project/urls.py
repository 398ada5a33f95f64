from django.http import JsonResponse
from django.urls import path

from .views import IngestView, send_message_to_group, send_notification_to_user


def notify(request):
    """Test hook: run the seeds' sync helpers inside the server process."""
    if "room" in request.GET:
        send_message_to_group(request.GET["room"], request.GET["message"])
    else:
        send_notification_to_user(request.GET.get("user"), request.GET["message"])
    return JsonResponse({"ok": True})


urlpatterns = [path("ingest/", IngestView.as_view()), path("notify/", notify)]
