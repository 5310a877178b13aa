// The dashboard's shell: hash routes, one event stream for every view, the API helper.
import {h, clear} from "./ui.js";
import * as overview from "./overview.js";
import * as accounts from "./accounts.js";
import * as account from "./account.js";
import * as analytics from "./analytics.js";
import * as events from "./events.js";

const pages = {overview, accounts, account, plan: account, analytics, events};
const root = document.getElementById("page");
const indicator = document.getElementById("live");
window.__dashboardLoadId = window.__dashboardLoadId || `${Date.now()}-${Math.random()}`;  // a reload would change it

let skew = 0;  // server clock minus ours, seconds
let view = null;
let loading = null;  // the view's data request in flight: live messages wait for it
let waiting = [];

const ctx = {
  now: () => Date.now() / 1000 + skew,
  navigate: (hash) => { location.hash = hash; },
  async api(path, params = {}) {
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== ""));
    const response = await fetch(`api/${path}${query.toString() ? "?" + query : ""}`, {credentials: "same-origin",
                                                                                     cache: "no-store"});
    const body = await response.json().catch(() => ({error: `HTTP ${response.status}`}));
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  },
  clock(serverTime) { if (serverTime) skew = serverTime - Date.now() / 1000; },
};

function route() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  return {name: pages[name] ? name : "overview", args: rest.map(decodeURIComponent)};
}

function show() {
  const {name, args} = route();
  if (view && view.unmount) view.unmount();
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.page === name || (name === "account" && link.dataset.page === "accounts")
                                    || (name === "plan" && link.dataset.page === "accounts"));
  }
  clear(root);
  const element = h("div", {class: `view view-${name}`, "data-view": name});
  root.append(element);
  view = pages[name].mount(element, ctx, name, args);
  reload();
}

function reload() {
  if (!view || !view.load) return;
  const current = view;
  const name = route().name;
  const request = Promise.resolve(current.load()).then(() => {
    // When each view first showed its data (scripts/bench_dashboard.py reads it: "full load").
    if (!performance.getEntriesByName(`view-ready:${name}`).length) performance.mark(`view-ready:${name}`);
  }).catch((err) => current.failed && current.failed(err));
  loading = request;
  waiting = [];
  request.finally(() => {
    if (loading !== request) return;
    loading = null;
    const queued = waiting;
    waiting = [];
    for (const [kind, data] of queued) deliver(kind, data);
  });
}

function deliver(kind, data) {
  if (!view) return;
  if (loading) { waiting.push([kind, data]); return; }
  const handler = view[`on${kind[0].toUpperCase()}${kind.slice(1)}`];
  if (handler) handler.call(view, data);
}

function connect() {
  const stream = new EventSource("api/stream");
  stream.addEventListener("hello", (message) => {
    const data = JSON.parse(message.data);
    ctx.clock(data.time);
    indicator.dataset.state = "live";
    indicator.textContent = "● live";
    reload();  // (re)connected: read the view again, so nothing between its last read and now is missed
  });
  for (const kind of ["events", "accounts", "overview"]) {
    stream.addEventListener(kind, (message) => {
      const data = JSON.parse(message.data);
      if (kind === "overview") ctx.clock(data.time);
      deliver(kind, data);
    });
  }
  stream.addEventListener("reload", () => reload());
  stream.addEventListener("error", () => {
    indicator.dataset.state = "down";
    indicator.textContent = "reconnecting…";
  });
}

window.addEventListener("hashchange", show);
setInterval(() => { if (view && view.tick) view.tick(); }, 1000);
connect();
show();
