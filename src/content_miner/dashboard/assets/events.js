// Events: the stage log as it is written, newest first, filtered by source, account and status.
import {h, clear, chip, clock, duration, accountLink, debounce, number} from "./ui.js";

const MAX_ROWS = 500;

export function mount(root, ctx) {
  const wanted = {source: "", account: "", status: ""};
  let newest = 0;
  let older = null;
  let paused = false;
  let skipped = 0;
  const sources = h("select", {"aria-label": "source", onchange: () => { wanted.source = sources.value; load(); }},
                    h("option", {value: "", text: "any source"}));
  const account = h("input", {type: "search", placeholder: "account", "aria-label": "account", maxlength: 64,
                              oninput: debounce(() => { wanted.account = account.value.trim(); load(); }, 250)});
  const status = h("select", {"aria-label": "status", onchange: () => { wanted.status = status.value; load(); }},
                   ["", "running", "completed", "failed"].map((value) => h("option", {value, text: value || "any status"})));
  const pause = h("button", {text: "pause", onclick: () => { paused = !paused; pause.textContent = paused ? "resume" : "pause";
                                                             if (!paused) load(); }});
  const note = h("span", {class: "muted"});
  const tbody = h("tbody", {});
  const more = h("button", {text: "older events", onclick: () => page(older)});
  root.append(h("h1", {text: "Events"}), h("div", {class: "controls"}, sources, account, status, pause, note),
              h("table", {class: "events"}, h("thead", {}, h("tr", {}, ["Time", "Source", "Account", "Stage", "Status",
                                                                          "Message", "Took"].map((t) => h("th", {text: t})))),
                tbody), h("p", {}, more));

  function row(event) {
    return h("tr", {"data-seq": event.seq, "data-source": event.source, "data-status": event.status,
                    "data-account": event.username},
      h("td", {class: "mono", text: clock(event.ts)}), h("td", {text: event.source}),
      h("td", {}, event.username ? accountLink(event.username) : h("span", {class: "muted", text: "—"})),
      h("td", {text: `${event.stage_number} · ${event.stage_name}`}),
      h("td", {}, chip(event.status), event.flag ? h("span", {class: `flag flag-${event.flag}`, text: event.flag}) : null),
      h("td", {class: "message", text: event.message}), h("td", {text: duration(event.duration_s)}));
  }

  function matches(event) {
    return (!wanted.source || event.source === wanted.source) && (!wanted.status || event.status === wanted.status)
           && (!wanted.account || event.username === wanted.account);
  }

  function params(before) {
    return {source: wanted.source, account: wanted.account, status: wanted.status, before, limit: 100};
  }

  async function page(before) {
    const found = await ctx.api("events", params(before));
    for (const event of found.events) tbody.append(row(event));
    older = found.next_before;
    more.disabled = older === null;
    more.textContent = older === null ? "(start of the log)" : `older events (before #${older})`;
  }

  async function load() {
    const found = await ctx.api("events", params(null));
    clear(tbody);
    skipped = 0;
    note.textContent = "";
    newest = Math.max(found.last_seq || 0, ...found.events.map((event) => event.seq));
    for (const event of found.events) tbody.append(row(event));
    older = found.next_before;
    more.disabled = older === null;
    more.textContent = older === null ? "(start of the log)" : `older events (before #${older})`;
    if (sources.options.length === 1) {
      ctx.api("overview").then((overview) => {
        for (const module of overview.modules || []) sources.append(h("option", {value: module.source, text: module.source}));
        sources.append(h("option", {value: "miner", text: "miner"}));
      }).catch(() => {});
    }
  }

  return {
    load,
    onEvents(message) {
      if (paused) return;
      skipped += message.skipped;
      const fresh = message.events.filter((event) => event.seq > newest);
      if (fresh.length) newest = fresh[fresh.length - 1].seq;
      for (const event of fresh) if (matches(event)) tbody.prepend(row(event));
      while (tbody.children.length > MAX_ROWS) tbody.lastElementChild.remove();
      note.textContent = skipped ? `${number(skipped)} events came too fast to list: use "older events" or reload` : "";
    },
    failed(err) { clear(tbody).append(h("tr", {}, h("td", {class: "error", text: String(err.message || err)}))); },
  };
}
