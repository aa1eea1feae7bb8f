// The side panel and tool bars: the class bar, the shape list in reading order, the selected shape's
// class and attributes (a character picked from the series' registry), its relations, and the image
// tags.
import { renderShapes } from "./canvas.js";
import { els, root, state, suggestions } from "./context.js";
import { clear, el, message } from "./dom.js";
import {
  characterName, classOf, colourOf, deleteRelation, pickClass, readingOrder, relationsFrom, setAttribute,
  setClass, shapeById, summary, toggleTag
} from "./shapes.js";
import { select, startRelationFrom } from "./tools.js";

export function renderAll() {
  suggestions.render();
  renderShapes();
  renderList();
  renderRelations();
  renderAttributes();
  renderTags();
  renderToolbar();
}

function renderToolbar() {
  if (!els["tool-bar"]) return;
  Array.prototype.forEach.call(els["tool-bar"].querySelectorAll(".tool"), function (b) {
    b.setAttribute("aria-pressed", String(b.dataset.tool === state.tool));
    b.disabled = !state.editable;
  });
  els.undo.disabled = !state.editable || !state.undo.length;
  els.redo.disabled = !state.editable || !state.redo.length;
  els["delete-shape"].disabled = !state.editable || !state.selected;
  els["relation-type"].disabled = !state.editable || !state.relationTypes.length;
  if (els["submit-task"]) els["submit-task"].disabled = !state.editable;
  root.dataset.tool = state.tool;
  renderClassBar();
}

export function renderClassBar() {
  var bar = els["class-bar"];
  if (!bar) return;
  Array.prototype.forEach.call(bar.children, function (b) {
    b.setAttribute("aria-pressed", String(b.dataset.class === state.drawClass));
    b.disabled = !state.editable;
  });
}

export function buildClassBar() {
  var bar = els["class-bar"];
  if (!bar) return;
  clear(bar);
  state.classList.forEach(function (cls) {
    var button = el("button", { type: "button", "class": "class-button secondary", "data-class": cls.name,
                                title: cls.shapes.join(", ") });
    var swatch = el("span", { "class": "swatch" });
    swatch.style.background = cls.color;
    button.appendChild(swatch);
    if (cls.hotkey) button.appendChild(el("kbd", {}, cls.hotkey));
    button.appendChild(el("span", { "class": "class-name" }, cls.name));
    button.addEventListener("click", function () { pickClass(cls); });
    bar.appendChild(button);
  });
}

export function buildRelationTypes() {
  var select = els["relation-type"];
  if (!select) return;
  clear(select);
  state.relationTypes.forEach(function (r) {
    select.appendChild(el("option", { value: r.name }, r.name + " (" + r.from + " → " + r.to + ")"));
  });
  if (!state.relationTypes.length) select.appendChild(el("option", { value: "" }, "no relation types"));
}

export function renderList() {
  var list = els["shape-list"];
  clear(list);
  var ordered = readingOrder(state.doc.shapes);
  els["shape-count"].textContent = "(" + ordered.length + ")";
  ordered.forEach(function (shape, index) {
    var li = el("li", { "data-id": shape.id, "class": "shape-entry" + (shape.id === state.selected ? " selected" : "") +
                        (shape.id === state.pinned ? " pinned" : "") + (state.flags[shape.id] ? " flagged" : "") });
    var button = el("button", { type: "button", "class": "linkish shape-button" });
    var swatch = el("span", { "class": "swatch" });
    swatch.style.background = colourOf(shape.class);
    button.appendChild(swatch);
    button.appendChild(el("span", { "class": "shape-index" }, String(index + 1) + "."));
    button.appendChild(el("span", { "class": "shape-class" }, shape.class));
    button.appendChild(el("span", { "class": "shape-kind muted" }, shape.type));
    var text = summary(shape);
    if (text) button.appendChild(el("span", { "class": "shape-summary" }, text));
    button.addEventListener("click", function () { select(shape.id, true); });
    li.appendChild(button);
    list.appendChild(li);
  });
}

export function renderRelations() {
  var list = els["relation-list"];
  clear(list);
  if (!state.doc.relations.length) { list.appendChild(el("li", { "class": "muted" }, "None.")); return; }
  state.doc.relations.forEach(function (r) {
    var a = shapeById(r.from), b = shapeById(r.to);
    var li = el("li", { "data-relation": r.id, "data-type": r.type });
    li.appendChild(el("span", { "class": "relation-type" }, r.type));
    li.appendChild(document.createTextNode(": "));
    li.appendChild(relationEnd(a));
    li.appendChild(document.createTextNode(" → "));
    li.appendChild(relationEnd(b));
    if (state.editable) {
      var remove = el("button", { type: "button", "class": "linkish remove-relation", title: "Remove this relation" }, "✕");
      remove.addEventListener("click", function () { deleteRelation(r.id); });
      li.appendChild(remove);
    }
    list.appendChild(li);
  });
}

function relationEnd(shape) {
  if (!shape) return el("span", { "class": "muted" }, "?");
  var button = el("button", { type: "button", "class": "linkish" }, shape.class + (summary(shape) ? " “" + summary(shape) + "”" : ""));
  button.addEventListener("click", function () { select(shape.id, true); });
  return button;
}

function renderTags() {
  var tagClasses = state.classList.filter(function (c) { return c.shapes.indexOf("tag") >= 0; });
  els["tags-panel"].hidden = !tagClasses.length;
  clear(els["tag-list"]);
  tagClasses.forEach(function (cls) {
    var on = state.doc.shapes.some(function (s) { return s.type === "tag" && s.class === cls.name; });
    var label = el("label", { "class": "check" });
    var box = el("input", { type: "checkbox", "data-tag": cls.name });
    box.checked = on;
    box.disabled = !state.editable;
    box.addEventListener("change", function () { toggleTag(cls.name); });
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + cls.name + (cls.hotkey ? " (" + cls.hotkey + ")" : "")));
    els["tag-list"].appendChild(label);
  });
}

function renderAttributes() {
  var body = els["attr-body"];
  var active = document.activeElement;
  if (active && body.contains(active) && active.dataset.shape === state.selected) return; // typing: leave it be
  clear(body);
  var shape = state.selected && shapeById(state.selected);
  if (!shape) { body.appendChild(el("p", { "class": "muted" }, "Nothing selected.")); return; }
  var cls = classOf(shape);
  var head = el("p", { "class": "attr-head" });
  if (state.editable) {
    var select = el("select", { id: "attr-class", "aria-label": "Class", "data-shape": shape.id });
    state.classList.filter(function (c) { return c.shapes.indexOf(shape.type) >= 0; }).forEach(function (c) {
      select.appendChild(el("option", { value: c.name }, c.name));
    });
    if (!cls) select.appendChild(el("option", { value: shape.class }, shape.class + " (removed from the schema)"));
    select.value = shape.class;
    select.addEventListener("change", function () { setClass(shape.id, select.value); });
    head.appendChild(select);
  } else {
    head.appendChild(el("strong", { "class": "attr-class-name" }, shape.class));
  }
  head.appendChild(el("span", { "class": "muted" }, " " + shape.type + " · " + shape.id));
  body.appendChild(head);
  if (state.flags[shape.id]) body.appendChild(el("p", { "class": "flag-note" }, state.flags[shape.id]));
  if (shape.id === state.pinned && state.ws.latest_review) {
    body.appendChild(el("p", { "class": "pinned-note" }, "Reviewer: " + state.ws.latest_review.comment));
  }
  (cls ? cls.attributes : []).forEach(function (attribute) { body.appendChild(attributeField(shape, attribute)); });
  var links = state.doc.relations.filter(function (r) { return r.from === shape.id || r.to === shape.id; });
  if (links.length) {
    var ul = el("ul", { "class": "relation-list" });
    links.forEach(function (r) {
      var other = shapeById(r.from === shape.id ? r.to : r.from);
      var li = el("li", { "data-relation": r.id });
      li.appendChild(el("span", {}, (r.from === shape.id ? r.type + " → " : r.type + " ← ")));
      li.appendChild(relationEnd(other));
      ul.appendChild(li);
    });
    body.appendChild(ul);
  }
  if (state.editable && relationsFrom(shape.class).length) {
    relationsFrom(shape.class).forEach(function (rule) {
      var b = el("button", { type: "button", "class": "secondary link-from", "data-relation-type": rule.name },
                 "Link " + rule.name + " → " + rule.to);
      b.addEventListener("click", function () {
        els["relation-type"].value = rule.name;
        startRelationFrom(shape);
      });
      body.appendChild(b);
    });
  }
}

function attributeField(shape, attribute) {
  var id = "attr-" + attribute.name.replace(/[^A-Za-z0-9_-]/g, "_");
  var wrap = el("div", { "class": "attr-field", "data-attribute": attribute.name, "data-type": attribute.type });
  wrap.appendChild(el("label", { "for": id }, attribute.name));
  var value = (shape.attributes || {})[attribute.name];
  var input;
  var key = shape.id + ":" + attribute.name;
  if (attribute.type === "text") {
    input = el("textarea", { id: id, rows: "3", maxlength: "10000" });
    input.value = value || "";
    input.addEventListener("input", function () { setAttribute(shape.id, attribute.name, input.value, key); });
  } else if (attribute.type === "choice") {
    input = el("select", { id: id });
    input.appendChild(el("option", { value: "" }, "—"));
    attribute.choices.forEach(function (c) { input.appendChild(el("option", { value: c }, c)); });
    input.value = value || "";
    input.addEventListener("change", function () { setAttribute(shape.id, attribute.name, input.value); });
  } else if (attribute.type === "tags") {
    input = el("input", { id: id, placeholder: "comma, separated" });
    input.value = Array.isArray(value) ? value.join(", ") : "";
    input.addEventListener("input", function () {
      var tags = input.value.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
      setAttribute(shape.id, attribute.name, tags, key);
    });
  } else {
    input = characterField(shape, attribute, id, value, key);
  }
  input.dataset.shape = shape.id;
  input.disabled = !state.editable;
  wrap.appendChild(input);
  return wrap;
}

// A character: a name typed with the series registry's names (and aliases) offered by a datalist;
// what is stored is the character's id. Without a series the name itself is stored.
function characterField(shape, attribute, id, value, key) {
  var input = el("input", { id: id, list: "character-options", autocomplete: "off", placeholder: "character name" });
  var registry = state.characters;
  if (registry === null || registry === undefined) {
    input.value = value || "";
    input.addEventListener("input", function () { setAttribute(shape.id, attribute.name, input.value.trim(), key); });
    return input;
  }
  input.value = value === undefined || value === null ? "" : characterName(value);
  input.addEventListener("change", function () {
    var typed = input.value.trim().toLowerCase();
    if (!typed) { setAttribute(shape.id, attribute.name, null); input.removeAttribute("aria-invalid"); return; }
    var found = registry.filter(function (c) {
      return c.name.toLowerCase() === typed || (c.aliases || []).some(function (a) { return String(a).toLowerCase() === typed; });
    })[0];
    if (!found) {
      var near = registry.filter(function (c) { return c.name.toLowerCase().indexOf(typed) === 0; });
      if (near.length === 1) found = near[0];
    }
    if (!found) {
      input.setAttribute("aria-invalid", "true");
      message("No character “" + input.value.trim() + "” in the series' registry: pick one from the list.", "error");
      return;
    }
    input.removeAttribute("aria-invalid");
    input.value = found.name;
    setAttribute(shape.id, attribute.name, found.id);
  });
  return input;
}

export function buildCharacterList() {
  var list = el("datalist", { id: "character-options" });
  (state.characters || []).forEach(function (c) {
    var option = el("option", { value: c.name });
    if (c.aliases && c.aliases.length) option.label = c.aliases.join(", ");
    list.appendChild(option);
  });
  root.appendChild(list);
}
