// One websocket per page to /ws/events/. Events are re-dispatched on `document` as
// CustomEvent("atelier:event", {detail}) for page scripts; the bell's unread count is kept here.
// On a drop the page says so and reconnects, resuming after the last event id it saw. If the
// server no longer has all of them (offline longer than its retention), the page says so and
// offers a reload: it cannot be brought up to date event by event.
(function () {
  "use strict";
  var lastId = null;
  var delay = 500;
  var subscriptions = new Set();
  var socket = null;
  var banner = document.getElementById("live-status");
  var missedNotice = document.getElementById("live-missed");

  function url() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + location.host + "/ws/events/" + (lastId !== null ? "?after=" + lastId : "");
  }

  function setConnected(connected) {
    if (banner) banner.hidden = connected;
    document.documentElement.dataset.live = connected ? "connected" : "disconnected";
  }

  function onMessage(message) {
    var data = JSON.parse(message.data);
    if (data.type === "hello") {
      if (lastId === null) lastId = data.cursor;
      if (data.missed && missedNotice) missedNotice.hidden = false;
      return;
    }
    if (data.type !== "event") return;
    lastId = data.id;
    if (data.kind === "notification") updateBell(data.payload.unread);
    document.dispatchEvent(new CustomEvent("atelier:event", { detail: data }));
  }

  function updateBell(unread) {
    var count = document.getElementById("unread-count");
    if (!count) return;
    count.textContent = String(unread);
    count.dataset.count = String(unread);
  }

  function connect() {
    socket = new WebSocket(url());
    socket.onopen = function () {
      delay = 500;
      setConnected(true);
      subscriptions.forEach(function (topic) { socket.send(JSON.stringify({ subscribe: topic })); });
    };
    socket.onmessage = onMessage;
    socket.onclose = function () {
      setConnected(false);
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  window.atelierLive = {
    subscribe: function (topic) {
      subscriptions.add(topic);
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ subscribe: topic }));
    },
  };
  connect();
})();
