// A small line chart on a <canvas>: seven labelled points, redrawn on every update.
"use strict";

function drawChart(canvas, labels, values) {
  const ctx = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);

  const pad = { left: 40, right: 16, top: 16, bottom: 36 };
  const top = Math.max(10, ...values.map(Number));
  const bottom = Math.min(0, ...values.map(Number));
  const x = (i) => pad.left + (i * (width - pad.left - pad.right)) / (labels.length - 1);
  const y = (v) => pad.top + ((top - v) * (height - pad.top - pad.bottom)) / (top - bottom || 1);

  ctx.font = "12px sans-serif";
  ctx.strokeStyle = "#ddd";
  ctx.fillStyle = "#666";
  ctx.lineWidth = 1;
  for (let step = 0; step <= 5; step++) {
    const v = bottom + ((top - bottom) * step) / 5;
    ctx.beginPath();
    ctx.moveTo(pad.left, y(v));
    ctx.lineTo(width - pad.right, y(v));
    ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(String(Math.round(v * 10) / 10), pad.left - 6, y(v) + 4);
  }
  ctx.textAlign = "center";
  labels.forEach((label, i) => ctx.fillText(label.slice(0, 3), x(i), height - pad.bottom + 18));

  ctx.strokeStyle = "rgb(255, 99, 132)";
  ctx.fillStyle = "rgb(255, 99, 132)";
  ctx.lineWidth = 3;
  ctx.beginPath();
  values.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
  ctx.stroke();
  values.forEach((v, i) => {
    ctx.beginPath();
    ctx.arc(x(i), y(v), 4, 0, 2 * Math.PI);
    ctx.fill();
  });
}

// A WebSocket that reconnects by itself, with backoff, and reports its state.
// ``path`` may be a function, asked again at every (re)connect. Tests set
// window.holdReconnect to keep a dropped socket down for a while.
function liveSocket(path, { onMessage, onState }) {
  let delay = 250;
  function open() {
    if (window.holdReconnect) { setTimeout(open, 100); return; }
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const where = typeof path === "function" ? path() : path;
    const socket = new WebSocket(scheme + location.host + where);
    socket.onopen = () => { delay = 250; onState(true, socket); };
    socket.onmessage = (event) => onMessage(JSON.parse(event.data), socket);
    socket.onclose = () => {
      onState(false, socket);
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 4000);
    };
    window.currentSocket = socket;
  }
  open();
}
