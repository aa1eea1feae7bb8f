// The bookings timeline: one row per GPU grouped by node (EventCalendar resource timeline), live over
// the page's websocket ("booking.changed" events). Every change goes through the REST API, the same
// services the CLI uses. Times shown and sent are
// wall-clock times in the user's zone: the server reads `start_local`/`end_local` in that zone, so
// the page stays right whatever zone the browser itself is set to.
import { getAllPages, getJson, request } from "../portal/api.js";
import { onEvent } from "../portal/realtime.js";

const data = JSON.parse(document.getElementById("booking-page-data").textContent);
const root = document.getElementById("timeline");
const zone = data.user.time_zone;
const statusLine = document.getElementById("booking-status");
const myTeamIds = new Set(data.teams.map((t) => t.id));
const stateOf = {};
data.resources.forEach((node) => node.children.forEach((gpu) => { stateOf[gpu.id] = gpu.extendedProps; }));
const titleOf = {};
data.resources.forEach((node) => node.children.forEach((gpu) => { titleOf[gpu.id] = node.title + " / " + gpu.title; }));

const pad = (n) => String(n).padStart(2, "0");
// A Date's own (browser-local) fields are the wall clock EventCalendar shows: send them as they are.
const naive = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:00`;
const fmt = new Intl.DateTimeFormat("en-CA", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
function wallClock(iso) {
  const p = Object.fromEntries(fmt.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}
const show = (iso) => wallClock(iso).replace("T", " ").slice(0, 16);
const showDate = (d) => naive(d).replace("T", " ").slice(0, 16);

function say(message, isError) {
  statusLine.textContent = message;
  statusLine.classList.toggle("error", Boolean(isError));
}

// An ApiError in words; a conflict also says who holds the GPUs and the next free window.
function explain(error) {
  const p = error.body;
  let text = error.message;
  if (error.status === 409) {
    const who = (p.conflicts || []).map(holder).filter(Boolean);
    if (who.length) text += ` Held by ${who.slice(0, 3).join("; ")}.`;
    if (p.suggestions && p.suggestions.length) text += ` Next free: ${show(p.suggestions[0].start)}–${show(p.suggestions[0].end)}.`;
  }
  return text;
}

// Who holds a conflicting window: a booking's owner, or a job (its number and owner where the
// viewer's team runs it; another team's job is only "a job", as jobs are team-private).
function holder(c) {
  const when = `${show(c.start)}–${show(c.end)}`;
  if (c.kind === "job") return c.user ? `job ${c.job} of ${c.user} (${c.team}) ${when}` : `a job ${when}`;
  return c.user ? `${c.user} (${c.team}) ${when}` : "";
}

function colour(r) {
  if (r.idle) return "#a86b00";
  if (r.user === data.user.username) return "#2b4c7e";
  if (myTeamIds.has(r.team)) return "#6b8fc7";
  return "#9aa3b2";
}

function toEvent(r) {
  return {
    id: String(r.id),
    resourceIds: r.gpus.map((g) => `gpu-${g.id}`),
    start: wallClock(r.start),
    end: wallClock(r.end),
    title: `${r.user} · ${r.team_name}${r.note ? " — " + r.note : ""}${r.idle ? " (idle)" : ""}`,
    backgroundColor: colour(r),
    editable: r.can_change,
    startEditable: false,
    durationEditable: r.can_change,
    extendedProps: r,
  };
}

// EventCalendar takes the promise's value as the events (and ignores the callbacks then).
async function loadEvents(info) {
  // The visible range is wall-clock in the user's zone; a day either side covers any offset.
  const from = new Date(Date.UTC(info.start.getFullYear(), info.start.getMonth(), info.start.getDate() - 1));
  const to = new Date(Date.UTC(info.end.getFullYear(), info.end.getMonth(), info.end.getDate() + 1));
  const url = `${data.api.bookings}?state=active&page_size=500&ends_after=${encodeURIComponent(from.toISOString())}&starts_before=${encodeURIComponent(to.toISOString())}`;
  const events = [];
  try {
    (await getAllPages(url, { maxPages: Infinity })).forEach((r) => events.push(toEvent(r)));
  } catch (error) {
    say(explain(error), true);
  }
  // Jobs running outside bookings (read with the page): shown, never editable here.
  data.jobs.forEach((job, i) => events.push({
    id: `job-${i}`, resourceIds: [`gpu-${job.gpu}`], start: wallClock(job.start), end: wallClock(job.end),
    title: job.title, backgroundColor: "#8e5ba8", editable: false, startEditable: false, durationEditable: false,
    extendedProps: { job: true },
  }));
  return events;
}

// --- booking dialog -------------------------------------------------------------------------
const dialog = document.getElementById("book-dialog");
const teamSelect = document.getElementById("book-team");
data.teams.forEach((t) => teamSelect.append(new Option(t.name, t.id)));
document.getElementById("book-team-label").hidden = data.teams.length < 2;
let pending = null;

async function showQuota() {
  const quota = document.getElementById("book-quota");
  if (!pending || !teamSelect.value) { quota.textContent = "You are in no team that books GPUs."; return; }
  const month = naive(pending.start).slice(0, 7);
  let u;
  try {
    u = await getJson(data.api.usage.replace("{team}", teamSelect.value) + `?month=${month}`);
  } catch (error) {
    quota.textContent = explain(error);
    return;
  }
  const after = u.remaining_gpu_hours - pending.hours;
  quota.textContent = `${u.remaining_gpu_hours.toFixed(1)} of ${u.gpu_hours_per_month.toFixed(1)} GPU-hours left in ${u.month}; ${after.toFixed(1)} after this booking`;
}

function openBooking(info) {
  const resourceId = info.resource && String(info.resource.id);
  ec.unselect();
  if (!resourceId || !resourceId.startsWith("gpu-")) return;
  const state = stateOf[resourceId];
  if (state.state !== "available") { say(`${titleOf[resourceId]} is ${state.state}: it cannot be booked.`, true); return; }
  // A drag over the current hour starts now, to the minute: the hour's start has passed.
  const now = new Date();
  now.setSeconds(0, 0);
  const startsNow = info.start < now && info.end > now;
  const start = startsNow ? now : info.start;
  pending = { gpu: state.gpu, model: state.model, resource: resourceId, start, end: info.end, startsNow };
  document.getElementById("book-count").value = "1";
  document.getElementById("book-start").textContent = showDate(start) + (startsNow ? " (now)" : "");
  document.getElementById("book-end").textContent = showDate(info.end);
  document.getElementById("book-error").textContent = "";
  document.getElementById("book-quota").textContent = "…";
  showAlternatives([]);
  describe();
  dialog.showModal();
  showQuota();
}

const count = () => Math.max(1, parseInt(document.getElementById("book-count").value, 10) || 1);

// What the dialog asks for, re-said whenever the count changes; a drag over someone else's bar is a
// conflict shown before "Confirm", with what is free instead.
function describe() {
  const n = count();
  pending.hours = (n * (pending.end - pending.start)) / 3600000;
  document.getElementById("book-gpu").textContent =
    n === 1 ? titleOf[pending.resource] : `${n} free ${pending.model} GPUs (chosen for you)`;
  document.getElementById("book-hours").textContent = pending.hours.toFixed(1);
  const clash = document.getElementById("book-clash");
  const over = n === 1 ? overlapping(pending.resource, pending.start, pending.end) : [];
  clash.hidden = over.length === 0;
  if (over.length) {
    clash.textContent = `This overlaps ${over.map((e) => e.title).join("; ")}: it cannot be booked as it is.`;
    findAlternatives();
  }
}

function overlapping(resourceId, start, end) {
  return ec.getEvents().filter((e) => e.resourceIds.includes(resourceId) && e.start < end && e.end > start);
}

function requestBody() {
  const n = count();
  const body = n === 1 ? { gpu_ids: [pending.gpu] } : { gpus: n, model: pending.model, same_node: document.getElementById("book-same-node").checked };
  if (teamSelect.value) body.team = Number(teamSelect.value);
  body.note = document.getElementById("book-note").value;
  return body;
}

// Other GPUs of the same model free for the same window, then the next windows (the 409's suggestions
// or the availability search); each is one click to book.
async function findAlternatives(suggestions) {
  const n = count();
  const hours = (pending.end - pending.start) / 3600000;
  const query = new URLSearchParams({ gpus: String(n), model: pending.model, duration: `PT${Math.round(hours * 60)}M`, after: pending.start.toISOString(), limit: "3" });
  if (document.getElementById("book-same-node").checked) query.set("same_node", "true");
  let windows = [];
  try {
    windows = await getJson(`${data.api.availability}?${query}`);
  } catch (error) {
    windows = [];
  }
  const offers = windows.concat(suggestions || []);
  const seen = new Set();
  showAlternatives(offers.filter((w) => {
    const key = `${w.start}|${w.gpu_ids.join(",")}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  }).slice(0, 4));
}

function showAlternatives(windows) {
  const box = document.getElementById("book-alternatives");
  const list = box.querySelector("ul");
  list.replaceChildren();
  box.hidden = windows.length === 0;
  windows.forEach((w) => {
    const names = w.gpu_ids.map((id) => titleOf[`gpu-${id}`] || `GPU ${id}`).join(", ");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "take-alternative";
    button.textContent = `Book ${names}, ${show(w.start)}–${show(w.end)}`;
    button.addEventListener("click", () => book({ ...requestBody(), gpu_ids: w.gpu_ids, gpus: undefined, model: undefined, same_node: undefined, start: w.start, end: w.end }));
    const item = document.createElement("li");
    item.append(button);
    list.append(item);
  });
}

async function book(body) {
  let booking;
  try {
    booking = (await request("POST", data.api.bookings, { body })).data;
  } catch (error) {
    document.getElementById("book-error").textContent = explain(error);
    if (error.status === 409) findAlternatives(error.body.suggestions);
    return;
  }
  dialog.close();
  const names = booking.gpus.map((g) => g.name).join(", ");
  say(`Booked ${names} from ${show(booking.start)} to ${show(booking.end)}.`);
  ec.refetchEvents();
}

teamSelect.addEventListener("change", showQuota);
document.getElementById("book-count").addEventListener("input", () => { describe(); showQuota(); });
document.getElementById("book-cancel").addEventListener("click", () => dialog.close());
document.getElementById("book-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const body = requestBody();
  body.start_local = naive(pending.start);
  body.end_local = naive(pending.end);
  book(body);
});

// --- resize and cancel ----------------------------------------------------------------------
async function resized(info) {
  const body = { end_local: naive(info.event.end) };
  if (info.event.start.getTime() !== info.oldEvent.start.getTime()) body.start_local = naive(info.event.start);
  let booking;
  try {
    booking = (await request("PATCH", `${data.api.bookings}${info.event.id}/`, { body })).data;
  } catch (error) {
    info.revert();
    say(explain(error), true);
    return;
  }
  say(`Booking now ends ${show(booking.end)}.`);
  ec.refetchEvents();
}

const cancelDialog = document.getElementById("cancel-dialog");
let clicked = null;
function openCancel(info) {
  if (info.event.extendedProps.job) { say(`${info.event.title}: a job running outside any booking.`); return; }
  clicked = info.event.extendedProps;
  const gpus = clicked.gpus.map((g) => g.name).join(", ");
  document.getElementById("cancel-summary").textContent = `${clicked.user} (${clicked.team_name}): ${gpus}, ${show(clicked.start)} – ${show(clicked.end)}${clicked.note ? ". " + clicked.note : ""}`;
  document.getElementById("cancel-error").textContent = "";
  document.getElementById("cancel-confirm").hidden = !clicked.can_change;
  cancelDialog.showModal();
}
document.getElementById("cancel-close").addEventListener("click", () => cancelDialog.close());
document.getElementById("cancel-confirm").addEventListener("click", async () => {
  try {
    await request("DELETE", `${data.api.bookings}${clicked.id}/`);
  } catch (error) {
    document.getElementById("cancel-error").textContent = explain(error);
    return;
  }
  cancelDialog.close();
  say("Booking cancelled; its GPUs are free again.");
  ec.refetchEvents();
});

const ec = EventCalendar.create(root, {
  view: "resourceTimelineDay",
  headerToolbar: { start: "prev,next today", center: "title", end: "resourceTimelineDay,resourceTimelineWeek" },
  buttonText: (text) => ({ ...text, today: "today", resourceTimelineDay: "day", resourceTimelineWeek: "week" }),
  // A week of hourly slots would scroll sideways: the week view shows 6-hour slots (drag to the hour in the day view).
  views: { resourceTimelineWeek: { slotDuration: "06:00", slotWidth: 40 } },
  locale: "en-GB",  // 24-hour clock, as the rest of the portal
  firstDay: new Date().getDay(),  // the week view starts today, not on a Sunday mostly past
  slotWidth: 44,
  resources: data.resources,
  eventSources: [{ events: loadEvents }],
  slotDuration: "01:00",
  selectable: true,
  select: openBooking,
  editable: false,
  eventStartEditable: false,
  eventDurationEditable: false,
  eventResize: resized,
  eventClick: openCancel,
  height: "auto",
  nowIndicator: true,
  // Labels are cut to the bar's width: the whole of it on hover.
  eventDidMount: (info) => { info.el.title = info.event.title; },
});
window.atelierBookings = ec;  // for the browser tests and the console

// Live: any booking created, changed, cancelled, released or flagged (by this page, another
// browser, the CLI or the idle check) announces itself on the public topic; reread the visible
// window through the API, which applies the visibility rules. Bursts collapse into one reread.
let refetchTimer = null;
onEvent((msg) => {
  if (msg.topic !== "public" || msg.kind !== "booking.changed") return;
  clearTimeout(refetchTimer);
  refetchTimer = setTimeout(() => {
    ec.refetchEvents();
    root.dataset.lastBookingEvent = String(msg.id);
  }, 150);
});
