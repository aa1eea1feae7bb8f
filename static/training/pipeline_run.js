// The run page's graph and step table follow the run live: any pipeline or job event of the team
// (events on team.<id>) reloads the fragment, at most every 300 ms, and so does every (re)connect:
// what changed between the page's render and its socket's opening came with no event for it.
import { getText } from "../portal/api.js";
import { onConnect, onEvent } from "../portal/realtime.js";

const section = document.getElementById("run-graph");
let pending = null;

function refresh() {
  pending = null;
  getText(section.dataset.fragmentUrl)
    .then((html) => { section.querySelector("#run-graph-body").outerHTML = html; })
    .catch(() => { /* the graph stays as it is; the next event tries again */ });
}

if (section) {
  const run = Number(section.dataset.run);
  onEvent((event) => {
    const ours = event.kind.startsWith("pipeline.") && event.payload && event.payload.run === run;
    const jobs = event.kind.startsWith("job.") && event.kind !== "job.log";
    if ((ours || jobs) && !pending) pending = setTimeout(refresh, 300);
  });
  onConnect(refresh);
}
