// Small DOM and formatting helpers. Text from the miner is always set as text (never as HTML).

const SVG = "http://www.w3.org/2000/svg";

function build(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") element.textContent = String(value);
    else if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
  return element;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "—";
  const total = Math.max(0, Math.round(seconds));
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (total < 60) return `${total}s`;
  if (total < 3600) return `${Math.floor(total / 60)}m ${String(total % 60).padStart(2, "0")}s`;
  if (total < 86400) return `${Math.floor(total / 3600)}h ${String(Math.floor(total % 3600 / 60)).padStart(2, "0")}m`;
  return `${Math.floor(total / 86400)}d ${String(Math.floor(total % 86400 / 3600)).padStart(2, "0")}h`;
}

export function ago(ts, now) {
  if (!ts) return "—";
  const seconds = now - ts;
  return seconds < 1 ? "now" : `${duration(seconds)} ago`;
}

export function clock(ts) {
  if (!ts) return "—";
  const date = new Date(ts * 1000);
  const today = new Date();
  const time = date.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false});
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.toISOString().slice(0, 10)} ${time}`;
}

export function bytes(count) {
  if (count === null || count === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = count, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

export function number(value, digits = 0) {
  if (value === null || value === undefined || !isFinite(value)) return "—";
  return Number(value).toLocaleString(undefined, {maximumFractionDigits: digits, minimumFractionDigits: digits});
}

export function percent(value) {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`;
}

export function chip(state) {
  return h("span", {class: `chip state-${state || "unknown"}`, text: state || "—"});
}

export function flags(row) {
  return [row.stalled ? h("span", {class: "flag flag-stalled", text: "stalled"}) : null,
          row.crashed ? h("span", {class: "flag flag-crashed", text: "crashed"}) : null];
}

export function bar(fraction, state) {
  const width = fraction === null || fraction === undefined ? 0 : Math.max(0, Math.min(1, fraction)) * 100;
  const fill = h("div", {class: "fill"});
  fill.style.width = `${width.toFixed(1)}%`;  // CSSOM, not a style attribute: the page's CSP allows no inline styles
  return h("div", {class: `bar state-${state}`, role: "progressbar", "aria-valuenow": Math.round(width),
                   "aria-valuemin": 0, "aria-valuemax": 100, title: fraction === null ? "" : `${Math.round(width)}%`},
           fill);
}

export function stageText(row) {
  if (row.stage_number === null || row.stage_number === undefined) return row.stage_name || "—";
  return `${row.stage_number} · ${row.stage_name}`;
}

export function accountLink(name) {
  return h("a", {href: `#/account/${encodeURIComponent(name)}`, class: "account", text: name});
}

export function card(title, ...children) {
  return h("section", {class: "card"}, h("h2", {text: title}), ...children);
}

export function table(headers, rows, attrs = {}) {
  return h("table", attrs, h("thead", {}, h("tr", {}, headers.map((title) => h("th", {text: title})))),
           h("tbody", {}, rows));
}

export function debounce(fn, wait) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}
