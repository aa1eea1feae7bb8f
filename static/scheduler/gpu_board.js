// The GPU board, live: each "gpu.tick" event from the agent updates the cards in place (no reload),
// "gpu.state" events carry drains. A node whose agent stays silent past the node-down threshold is
// shown down. Sparklines: the stored 10-minute history (10 s means) plus every live reading since.
import { onEvent } from "../portal/realtime.js";

var data = JSON.parse(document.getElementById("board-data").textContent);
var SPAN = 600; // seconds of sparkline
var cards = {};
var nodeSeen = {};
var series = {};
var lastTick = null;

function text(card, field, value) {
  var el = card.querySelector('[data-field="' + field + '"]');
  if (el && el.textContent !== value) el.textContent = value;
}

function na(value, suffix) { return value === null || value === undefined ? "n/a" : value + suffix; }

function setUtil(card, util) {
  text(card, "util", na(util, "%"));
  var bar = card.querySelector('[data-field="util-bar"]');
  if (bar) bar.style.width = (util || 0) + "%";
}

function drawSpark(id) {
  var card = cards[id];
  var points = series[id];
  var line = card && card.querySelector(".spark polyline");
  if (!line || !points.length) return;
  var end = points[points.length - 1][0];
  line.setAttribute("points", points.map(function (p) {
    return (120 - (end - p[0]) / SPAN * 120).toFixed(1) + "," + (24 - p[1] / 100 * 23).toFixed(1);
  }).join(" "));
}

function pushPoint(id, t, util) {
  if (util === null || util === undefined) return;
  var points = series[id];
  points.push([t, util]);
  while (points.length && points[0][0] < t - SPAN) points.shift();
  drawSpark(id);
}

// Mirrors _process_owner in scheduler/fleet_views.py: the job and its user, or the attempt alone
// for rows written before jobs were attributed.
function ownerOf(p) {
  if (p.owner === "unknown") return "unknown owner";
  if (p.owner === "unmatched") return "not visible to the agent (another pid namespace)";
  if (p.job === null || p.job === undefined) return "attempt " + p.owner;
  return "job " + p.job + " · " + (p.user || "unknown user");
}

function ownerText(p) {
  var owner = ownerOf(p);
  return "pid " + p.pid + " · " + owner + (p.mem !== null && p.mem !== undefined ? " · " + p.mem + " MiB" : "");
}

function setProcesses(card, processes) {
  var list = card.querySelector('[data-field="procs"]');
  if (!list) return;
  list.textContent = "";
  if (processes === null) {
    var unknown = document.createElement("li");
    unknown.className = "muted";
    unknown.textContent = "processes n/a";
    list.appendChild(unknown);
    return;
  }
  processes.forEach(function (p) {
    var item = document.createElement("li");
    item.textContent = ownerText(p);
    if (p.rogue) {
      item.className = "rogue";
      item.title = data.rogueText[p.rogue] || p.rogue;
      var flag = document.createElement("strong");
      flag.textContent = "rogue";
      item.appendChild(document.createTextNode(" · "));
      item.appendChild(flag);
    }
    list.appendChild(item);
  });
}

function setState(card, state, label) {
  card.dataset.state = state;
  text(card, "state", label || state.replace("_", " "));
}

// lost and node_down are passing states; available or drained (with its label) is what returns.
function restore(card) { setState(card, card.dataset.base, card.dataset.baseLabel); }
function transient(card) { return card.dataset.state === "lost" || card.dataset.state === "node_down"; }

function onTick(payload) {
  var now = Date.now();
  payload.nodes.forEach(function (id) { nodeSeen[id] = now; });
  payload.g.forEach(function (row) {
    var id = row[0], card = cards[id];
    if (!card) return;
    setUtil(card, row[1]);
    text(card, "mem", na(row[2], ""));
    text(card, "temp", na(row[3], " °C"));
    text(card, "power", na(row[4], " W"));
    card.classList.toggle("has-rogue", row[6] > 0);
    if (row[7]) setState(card, "lost");
    else if (card.dataset.state === "lost") restore(card);
    card.dataset.t = String(payload.t);
    pushPoint(id, payload.t, row[1]);
  });
  Object.keys(payload.p || {}).forEach(function (id) {
    if (cards[id]) setProcesses(cards[id], payload.p[id]);
  });
  lastTick = payload.t;
  var stamp = document.getElementById("board-updated");
  if (stamp) stamp.dataset.t = String(payload.t);
}

function onState(payload) {
  payload.gpus.forEach(function (g) {
    var card = cards[g.id];
    if (!card) return;
    var drained = g.state === "drained" || g.node_drained || (g.state === "lost" && g.reason);
    card.dataset.base = drained ? "drained" : "available";
    card.dataset.baseLabel = drained ? "drained: " + (g.reason || g.node_reason) : "available";
    if (g.state === "lost") setState(card, "lost");
    else if (!transient(card)) restore(card);
  });
}

function checkNodes() {
  var limit = data.nodeDownAfter * 1000, now = Date.now();
  document.querySelectorAll("section.node").forEach(function (section) {
    var up = now - (nodeSeen[section.dataset.nodeId] || 0) <= limit;
    if (section.dataset.up === String(up)) return;
    section.dataset.up = String(up);
    section.querySelector(".node-up").textContent = up ? "up" : "node down";
    section.querySelectorAll(".gpu-card").forEach(function (card) {
      if (!up && card.dataset.state !== "lost") setState(card, "node_down", "node down");
      else if (up && card.dataset.state === "node_down") restore(card);
    });
  });
}

document.querySelectorAll(".gpu-card").forEach(function (card) {
  var id = card.dataset.gpuId;
  cards[id] = card;
  var drained = card.dataset.state === "drained";
  card.dataset.base = drained ? "drained" : "available";
  card.dataset.baseLabel = drained ? card.querySelector('[data-field="state"]').textContent : "available";
  var bar = card.querySelector('[data-field="util-bar"]');
  if (bar) bar.style.width = (bar.dataset.value || 0) + "%";
  var spark = JSON.parse(card.dataset.spark || "{}");
  series[id] = (spark.util || []).map(function (v, i) {
    return [spark.end - (spark.util.length - 1 - i) * spark.step, v];
  }).filter(function (p) { return p[1] !== null; });
  drawSpark(id);
});
document.querySelectorAll("section.node").forEach(function (section) {
  var age = parseFloat(section.dataset.heartbeatAge);
  nodeSeen[section.dataset.nodeId] = isNaN(age) ? 0 : Date.now() - age * 1000;
});

onEvent(function (msg) {
  if (msg.topic !== "public") return;
  if (msg.kind === "gpu.tick") onTick(msg.payload);
  else if (msg.kind === "gpu.state") onState(msg.payload);
});
setInterval(checkNodes, 1000);
