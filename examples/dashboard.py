"""A live dashboard without Django: POST numbers, every open page redraws at once.

Run it (one process, in-memory layer):

    python examples/dashboard.py                  # http://127.0.0.1:8004/

then, from a terminal:

    curl -X POST http://127.0.0.1:8004/ingest -d '{"data": [3, 1, 4, 1, 5, 9, 2]}'

Several processes: `export TIDINGS_URL=redis://127.0.0.1:6379/0` and start it twice with
`--port 8004` and `--port 8005`; a POST to either redraws the pages of both. A page that
connects shows the latest data at once (the group keeps a one-message history).

Needs `pip install 'tidings[server]'` (and `tidings[redis]` for Redis). Starlette serves the
page and the POST; a tidings consumer holds each page's socket in the ``dashboard`` group.
"""

import argparse
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route, WebSocketRoute

from tidings import InvalidMessage, layer_from_url
from tidings.consumers import AsyncJsonWebsocketConsumer

# One layer per process, keeping the last update so a page that opens draws it at once.
url = os.environ.get("TIDINGS_URL", "memory://")
layer = layer_from_url(url, history_groups=["dashboard"], history_size=1)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
  #bars { display: flex; align-items: flex-end; gap: .5rem; height: 12rem;
          border-bottom: 1px solid #ccc; }
  #bars div { flex: 1; background: #4c78a8; min-height: 2px; }
</style></head>
<body>
  <h1>Dashboard <small id="state">connecting</small></h1>
  <div id="bars"></div>
  <p>Latest: <code id="values">none yet</code></p>
  <script>
    function draw(values) {
      const top = Math.max(...values.map(Math.abs), 1);
      document.getElementById("bars").replaceChildren(...values.map((v) => {
        const bar = document.createElement("div");
        bar.style.height = (100 * Math.abs(v) / top) + "%";
        return bar;
      }));
      document.getElementById("values").textContent = JSON.stringify(values);
    }
    function connect() {
      const socket = new WebSocket("ws://" + location.host + "/ws/");
      socket.onopen = () => (document.getElementById("state").textContent = "live");
      socket.onmessage = (e) => draw(JSON.parse(e.data).data);
      socket.onclose = () => {
        document.getElementById("state").textContent = "reconnecting";
        setTimeout(connect, 1000);
      };
    }
    connect();
  </script>
</body></html>"""


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    groups = ["dashboard"]  # noqa: RUF012 - Channels' API: joined on connect, left after

    async def connect(self):
        await self.accept()
        latest = await self.channel_layer.group_history("dashboard")  # [] or the last update
        for event in latest:
            await self.dashboard_update(event)

    async def dashboard_update(self, event):  # {"type": "dashboard.update", "data": [...]}
        await self.send_json({"data": event["data"]})


async def page(request: Request):
    return HTMLResponse(PAGE)


async def ingest(request: Request):
    try:
        data = (await request.json())["data"]
        if not isinstance(data, list) or not all(isinstance(v, (int, float)) for v in data):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": 'send {"data": [numbers]}'}, status_code=400)
    try:
        report = await layer.group_send("dashboard", {"type": "dashboard.update", "data": data})
    except InvalidMessage as exc:  # e.g. an integer beyond 64 bits
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(report.as_dict())  # members, delivered, dropped, ...


app = Starlette(
    routes=[
        Route("/", page),
        Route("/ingest", ingest, methods=["POST"]),
        WebSocketRoute("/ws/", DashboardConsumer.as_asgi(channel_layer=layer)),
    ]
)

if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8004)
    port = parser.parse_args().port
    print(f"dashboard on http://127.0.0.1:{port}/")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
