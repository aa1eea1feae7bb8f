// The other parts' logs of a multi-node job (ranks 1 and up) followed while the job runs. Those parts
// write to files on the shared job storage from other nodes' workers, not to the database, so no
// realtime event says they grew: each live part's section reads its next page 2 s after the last answer
// (never two reads at once on a slow server), from the byte offset the server-rendered tail ends at,
// until the API says the part ended and all was read.
import { ApiError, getJson } from "../portal/api.js";

var POLL_MS = 2000;

function follow(section) {
  var pre = section.querySelector("pre.log");
  var empty = section.querySelector("p.empty");
  var offset = Number(section.dataset.offset) || 0;
  var stopped = false;

  function show(text) {
    if (!text) return;
    var atBottom = pre.hidden || pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.hidden = false;
    if (empty) { empty.remove(); empty = null; }
    pre.appendChild(document.createTextNode(text));
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }

  // Until the API says the part ended and every byte was read: a job that just ended still has its
  // last lines to show. A newer attempt's part of the same rank is another file: say so and stop.
  function read() {
    getJson(section.dataset.pageUrl + "?offset=" + offset)
      .then(function (page) {
        if (page.attempt !== Number(section.dataset.attempt)) {
          stop();
          section.querySelector("h2 small").textContent += " · attempt " + section.dataset.attempt + "; reload for the newer attempt";
          return;
        }
        show(page.data);
        offset = page.next_offset;
        if (page.complete) stop();
        else readLater();
      })
      .catch(function (error) {
        if (!(error instanceof ApiError)) throw error;  // a bug here, not an answer: let it show
        // 404: the newer attempt has no part of this rank; other 4xx (the session ended) will not
        // change by asking again. No answer or a 5xx: the network or the server failed this once.
        if (error.status >= 400 && error.status < 500 && error.status !== 429) stop();
        else readLater();
      });
  }

  function readLater() {
    if (!stopped) setTimeout(read, POLL_MS);
  }

  function stop() {
    stopped = true;
    delete section.dataset.live;
  }

  read();
}

document.querySelectorAll("section.part-log[data-live]").forEach(follow);
