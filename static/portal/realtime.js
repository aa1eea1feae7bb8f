// One websocket per page to /ws/events/, shared by every module that imports this one. Page scripts
// receive events with onEvent(handler) and add topics with subscribe(topic); the bell's unread count
// is kept here. On a drop the page says so and reconnects (backing off from 0.5 s to 10 s), resuming
// after the last event id it saw. If the server no longer has all of them (offline longer than its
// retention), the page says so and offers a reload: it cannot be brought up to date event by event.
import { Backoff } from "./api.js";

const handlers = new Set();
const connectHandlers = new Set();
const subscriptions = new Set();
const reconnect = new Backoff({ initialMs: 500, maxMs: 10000 });
const banner = document.getElementById("live-status");
const missedNotice = document.getElementById("live-missed");
let lastId = null;
let socket = null;

export function onEvent(handler) {
  handlers.add(handler);
}

// Called on every (re)connect: a page re-reads what it shows, since events published between its
// render (or the drop) and the subscription are not replayed to a page that had no cursor yet.
export function onConnect(handler) {
  connectHandlers.add(handler);
}

export function subscribe(topic) {
  subscriptions.add(topic);
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ subscribe: topic }));
}

function url() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  return scheme + location.host + "/ws/events/" + (lastId !== null ? "?after=" + lastId : "");
}

function setConnected(connected) {
  if (banner) banner.hidden = connected;
  document.documentElement.dataset.live = connected ? "connected" : "disconnected";
}

function onMessage(message) {
  const data = JSON.parse(message.data);
  if (data.type === "hello") {
    if (lastId === null) lastId = data.cursor;
    if (data.missed && missedNotice) missedNotice.hidden = false;
    connectHandlers.forEach((handler) => {
      try { handler(); } catch (error) { reportError(error); }
    });
    return;
  }
  if (data.type !== "event") return;
  lastId = data.id;
  if (data.kind === "notification") updateBell(data.payload.unread);
  handlers.forEach((handler) => {
    try { handler(data); } catch (error) { reportError(error); }  // one page script's bug stops no other
  });
}

function updateBell(unread) {
  const count = document.getElementById("unread-count");
  if (!count) return;
  count.textContent = String(unread);
  count.dataset.count = String(unread);
}

function connect() {
  socket = new WebSocket(url());
  socket.onopen = () => {
    reconnect.reset();
    setConnected(true);
    subscriptions.forEach((topic) => socket.send(JSON.stringify({ subscribe: topic })));
  };
  socket.onmessage = onMessage;
  socket.onclose = () => {
    setConnected(false);
    setTimeout(connect, reconnect.next());
  };
}

connect();
