// Accounts: every account with its current stage, progress, ETA, flags and last plan; search, sort, pages.
import {h, clear, chip, flags, bar, stageText, accountLink, duration, ago, number, debounce} from "./ui.js";

const COLUMNS = [["username", "Account"], ["stage", "Stage"], [null, "Progress"], ["state", "State"], ["eta", "ETA"],
                 ["since", "Since"], ["last_plan", "Last plan"]];
const PAGE = 100;

export function mount(root, ctx, name, args) {
  const state = {q: "", state: args[0] || "", sort: "since", order: "desc", offset: 0};
  let page = null;
  const rows = new Map();  // username -> its <tr>
  const search = h("input", {type: "search", placeholder: "search accounts", "aria-label": "search accounts",
                             maxlength: 64, oninput: debounce(() => { state.q = search.value.trim(); state.offset = 0; load(); }, 200)});
  const filter = h("select", {"aria-label": "state", onchange: () => { state.state = filter.value; state.offset = 0; load(); }},
                   ["", "running", "stalled", "crashed", "failed", "completed", "idle"].map((value) =>
                     h("option", {value, text: value || "any state", selected: value === state.state})));
  const summary = h("span", {class: "muted"});
  const prev = h("button", {text: "‹ previous", onclick: () => { state.offset = Math.max(0, state.offset - PAGE); load(); }});
  const next = h("button", {text: "next ›", onclick: () => { state.offset += PAGE; load(); }});
  const head = h("tr", {});
  const tbody = h("tbody", {});
  root.append(h("h1", {text: "Accounts"}),
              h("div", {class: "controls"}, search, filter, summary, h("span", {class: "spacer"}), prev, next),
              h("table", {class: "accounts"}, h("thead", {}, head), tbody));

  function headers() {
    clear(head);
    for (const [key, title] of COLUMNS) {
      const arrow = key === state.sort ? (state.order === "desc" ? " ▾" : " ▴") : "";
      head.append(h("th", key ? {class: "sortable", "data-sort": key, onclick: () => sortBy(key)} : {}, title + arrow));
    }
  }

  function sortBy(key) {
    state.order = state.sort === key && state.order === "desc" ? "asc" : "desc";
    if (state.sort !== key && key === "username") state.order = "asc";
    state.sort = key;
    state.offset = 0;
    load();
  }

  function cells(tr, row) {
    const now = ctx.now();
    const eta = row.pipeline_eta_s ?? row.eta_s;
    const waited = row.received ? now - row.received : 0;
    tr.dataset.stage = row.stage_number ?? "";
    tr.dataset.state = row.state;
    tr.dataset.status = row.status;
    clear(tr).append(
      h("td", {}, accountLink(row.username)),
      h("td", {text: stageText(row)}),
      h("td", {}, bar(row.fraction, row.state),
        row.progress ? h("small", {class: "muted", text: ` ${row.progress[0]}/${row.progress[1]}`}) : null),
      h("td", {}, chip(row.state), flags(row)),
      h("td", {text: row.state === "running" || row.state === "stalled" ? (eta === null || eta === undefined ? "?" :
                  duration(Math.max(0, eta - waited))) : "—"}),
      h("td", {text: ago(row.since, now)}),
      h("td", {text: row.last_plan_at ? ago(row.last_plan_at, now) : "never"}));
  }

  function render() {
    headers();
    clear(tbody);
    rows.clear();
    for (const row of page.rows) {
      row.received = ctx.now();
      const tr = h("tr", {"data-account": row.username});
      cells(tr, row);
      rows.set(row.username, [tr, row]);
      tbody.append(tr);
    }
    if (!page.rows.length) tbody.append(h("tr", {}, h("td", {colspan: COLUMNS.length, class: "muted",
                                                           text: page.total ? "No account matches." : "No accounts yet."})));
    const last = Math.min(page.offset + page.rows.length, page.matched);
    summary.textContent = page.matched ? `${number(page.offset + 1)}–${number(last)} of ${number(page.matched)}` +
                                         (page.matched !== page.total ? ` (of ${number(page.total)})` : "") : "";
    prev.disabled = page.offset === 0;
    next.disabled = last >= page.matched;
  }

  async function load() {
    page = await ctx.api("accounts", {q: state.q, state: state.state, sort: state.sort, order: state.order,
                                      offset: state.offset, limit: PAGE});
    render();
  }
  const reloadSoon = debounce(() => load().catch(() => {}), 300);

  return {
    load,
    onAccounts(message) {
      let elsewhere = message.removed.length > 0;
      for (const row of message.rows) {
        const shown = rows.get(row.username);
        if (shown) { row.received = ctx.now(); shown[1] = row; cells(shown[0], row); } else elsewhere = true;
      }
      if (elsewhere || state.sort !== "username") reloadSoon();  // membership or order may have changed
    },
    tick() { for (const [tr, row] of rows.values()) cells(tr, row); },
    failed(err) { clear(tbody).append(h("tr", {}, h("td", {class: "error", text: String(err.message || err)}))); },
  };
}
