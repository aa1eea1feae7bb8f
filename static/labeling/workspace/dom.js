// Small helpers of the workspace: elements and SVG nodes built with text and attributes set one by one
// (never innerHTML), random ids, deep copies, the API's error text and the message line.
import { els } from "./context.js";

var SVGNS = "http://www.w3.org/2000/svg";

export function el(tag, attrs, text) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function svg(tag, attrs) {
  var node = document.createElementNS(SVGNS, tag);
  Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
  return node;
}

export function clear(node) { while (node && node.firstChild) node.removeChild(node.firstChild); }

export function newId(prefix) {
  var bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return prefix + Array.prototype.map.call(bytes, function (b) { return b.toString(36).padStart(2, "0"); }).join("");
}

export function copy(value) { return JSON.parse(JSON.stringify(value)); }

export function errorText(data, fallback) {
  if (!data) return fallback;
  var parts = [];
  if (typeof data.detail === "string") parts.push(data.detail);
  Object.keys(data.errors || {}).forEach(function (key) {
    (data.errors[key] || []).forEach(function (m) { parts.push(String(m)); });
  });
  return parts.length ? parts.join(" ") : fallback;
}

var messageTimer = null;
export function message(text, kind) {
  var box = els["ws-message"];
  box.textContent = text;
  box.dataset.kind = kind || "info";
  box.hidden = !text;
  clearTimeout(messageTimer);
  if (text && kind !== "error") messageTimer = setTimeout(function () { box.hidden = true; }, 8000);
}
