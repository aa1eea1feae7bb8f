// The spec editor: the spec is checked as one types (debounced, against the team's limits, nothing saved)
// and every problem is listed with its path in the spec; a valid spec lists its steps in the order they run.
import { request } from "../portal/api.js";

const text = document.getElementById("spec-text");
const check = document.getElementById("spec-check");
const team = document.getElementById("pipeline-team");
let timer = null;
let asked = 0;

function item(path, message) {
  const li = document.createElement("li");
  if (path) {
    const code = document.createElement("code");
    code.textContent = path;
    li.append(code, " ");
  }
  li.append(message);
  return li;
}

function show(report) {
  check.replaceChildren();
  const summary = document.createElement("p");
  if (report.ok) {
    summary.className = "ok";
    summary.textContent = `Valid: ${report.steps.length} step(s), in the order they can run: ` +
      report.steps.map((s) => `${s.name} (${s.type})`).join(" → ");
    check.append(summary);
    return;
  }
  summary.className = "error";
  summary.textContent = `${report.problems.length} problem(s):`;
  const list = document.createElement("ul");
  list.className = "problems";
  list.id = "spec-problems";
  report.problems.forEach((p) => list.append(item(p.path, p.message)));
  check.append(summary, list);
}

async function validate() {
  const mine = ++asked;
  const teamId = Number(team ? team.value : text.dataset.team);
  try {
    const answer = await request("POST", text.dataset.validateUrl, { body: { team: teamId, spec: text.value } });
    if (mine === asked) show(answer.data);
  } catch (error) {
    if (mine === asked) {
      check.replaceChildren(item("", `Could not check the spec now (${error.message}); saving still checks it.`));
    }
  }
}

if (text) {
  text.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(validate, 400);
  });
  if (team) team.addEventListener("change", validate);
  if (!check.querySelector(".problems")) validate();
}
