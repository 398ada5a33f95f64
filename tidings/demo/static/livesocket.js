// A WebSocket that reconnects by itself, with backoff, and says why it is down.
// `path` may be a function, asked again at every (re)connect. Tests set
// window.holdReconnect to keep a dropped socket down for a while.
"use strict";

// What a close code means to the person looking at the page.
const CLOSE_REASONS = {
  1000: "closed",
  1001: "the server is going away (restart or deploy)",
  1006: "connection lost (server down or network)",
  1011: "server error",
  1012: "the server is restarting",
  1013: "the server is overloaded; try again later",
  4401: "login required",
};

function closeReason(event) {
  const why = event.reason || CLOSE_REASONS[event.code] || "closed";
  return why + " (code " + event.code + ")";
}

function liveSocket(path, { onMessage, onState }) {
  let delay = 250;
  function open() {
    if (window.holdReconnect) { setTimeout(open, 100); return; }
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const where = typeof path === "function" ? path() : path;
    const socket = new WebSocket(scheme + location.host + where);
    socket.onopen = () => { delay = 250; onState(true, socket, ""); };
    socket.onmessage = (event) => onMessage(JSON.parse(event.data), socket);
    socket.onclose = (event) => {
      const retry = "retrying in " + (delay < 1000 ? delay + " ms" : delay / 1000 + " s");
      onState(false, socket, closeReason(event) + "; " + retry);
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 4000);
    };
    window.currentSocket = socket;
  }
  open();
}

// The connected/disconnected badge every demo page shows, with the reason underneath.
function showState(up, reason) {
  const state = document.getElementById("state");
  state.textContent = up ? "connected" : "disconnected";
  state.className = up ? "on" : "off";
  const why = document.getElementById("why");
  if (why) why.textContent = up ? "" : reason;
}
