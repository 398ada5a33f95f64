// A line chart drawn on a <canvas> by hand (no charting library): labelled points, a y axis
// whose ticks are round numbers (1, 2 or 5 times a power of ten) that fit any values,
// negative and large ones included, always with zero on the axis.
"use strict";

// Round tick values covering [low, high] with about `count` steps.
function niceTicks(low, high, count = 5) {
  if (!(high > low)) { high = low + 1; }
  const raw = (high - low) / count;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const first = Math.floor(low / step), last = Math.ceil(high / step);
  const ticks = [];
  for (let i = first; i <= last; i++) {
    ticks.push(i === 0 ? 0 : Number((i * step).toPrecision(12)));
  }
  return ticks;
}

// 1,000,000 reads as "1M" on an axis; small steps keep their decimals.
const tickLabel = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 2 });

function drawChart(canvas, labels, values) {
  const ctx = canvas.getContext("2d");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);

  const numbers = values.map(Number);
  const ticks = niceTicks(Math.min(0, ...numbers), Math.max(0, ...numbers));
  const bottom = ticks[0], top = ticks[ticks.length - 1];
  ctx.font = "12px system-ui, sans-serif";
  const names = ticks.map((v) => tickLabel.format(v));
  const left = 12 + Math.max(...names.map((n) => ctx.measureText(n).width));
  const pad = { left, right: 16, top: 12, bottom: 30 };
  const x = (i) => pad.left + (i * (width - pad.left - pad.right)) / Math.max(1, labels.length - 1);
  const y = (v) => pad.top + ((top - v) * (height - pad.top - pad.bottom)) / (top - bottom);

  ticks.forEach((v, i) => {
    ctx.strokeStyle = v === 0 ? "#999" : "#e4e4e4";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(pad.left, y(v));
    ctx.lineTo(width - pad.right, y(v));
    ctx.stroke();
    ctx.fillStyle = "#666";
    ctx.textAlign = "right";
    ctx.fillText(names[i], pad.left - 6, y(v) + 4);
  });
  ctx.textAlign = "center";
  const short = width < 420;  // phone width: "M", "T", ... instead of "Mon", "Tue", ...
  labels.forEach((label, i) =>
    ctx.fillText(label.slice(0, short ? 1 : 3), x(i), height - pad.bottom + 18));

  ctx.strokeStyle = ctx.fillStyle = "rgb(255, 99, 132)";
  ctx.lineWidth = 3;
  ctx.beginPath();
  numbers.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
  ctx.stroke();
  numbers.forEach((v, i) => {
    ctx.beginPath();
    ctx.arc(x(i), y(v), 4, 0, 2 * Math.PI);
    ctx.fill();
  });
  return { ticks, top, bottom };
}
