// Refresh the job rows when any job of the user's teams changes state (events on team.<id>), and on
// every (re)connect: a change between the page's render and its socket's opening came with no event.
import { getText } from "../portal/api.js";
import { onConnect, onEvent } from "../portal/realtime.js";

const table = document.getElementById("job-table");
let pending = null;

function refresh() {
  pending = null;
  getText(table.dataset.fragmentUrl)
    .then((html) => { table.querySelector("#job-rows").outerHTML = html; })
    .catch(() => { /* the rows stay as they are; the next job event tries again */ });
}

if (table) {
  onEvent((event) => {
    if (!event.kind.startsWith("job.") || event.kind === "job.log") return;
    if (!pending) pending = setTimeout(refresh, 300);
  });
  onConnect(refresh);
}
