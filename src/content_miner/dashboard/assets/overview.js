// Overview: the miner, its modules, the status line, the job queue, axon traffic, accounts by state.
import {h, clear, card, table, chip, duration, ago, bytes, number} from "./ui.js";
import {sparkBars} from "./charts.js";

export function mount(root, ctx) {
  let data = null;
  const body = h("div", {class: "grid"});
  const updated = h("p", {class: "muted updated"});
  root.append(h("h1", {text: "Overview"}), body, updated);

  function render() {
    clear(body);
    if (!data) return;
    const now = ctx.now();
    const miner = data.miner || {};
    body.append(card("Status line",
      h("pre", {class: "status-line", "data-testid": "status-line", text: data.status_line || "—"}),
      h("dl", {class: "facts"},
        fact("Mode", miner.mode), fact("Netuid", miner.netuid), fact("Hotkey", miner.hotkey),
        fact("Axon", miner.axon), fact("Miner up", duration(miner.uptime_s)),
        fact("Miner memory", bytes(miner.rss_bytes)), fact("Live pages", data.viewers),
        fact("Stage log", `${number(data.last_seq)} events`))));
    const own = Object.fromEntries((data.module_stages || []).map((stage) => [stage.source, stage]));
    body.append(card("Modules", data.modules ? table(
      ["Module", "State", "PID", "Up", "Restarts", "Memory", "Own stage"],
      data.modules.map((module) => {
        const stage = own[module.source];
        return h("tr", {"data-module": module.label, "data-state": module.state, "data-restarts": module.restarts,
                        "data-pid": module.pid ?? ""},
                 h("td", {text: module.label}), h("td", {}, chip(module.state)), h("td", {text: module.pid ?? "—"}),
                 h("td", {text: duration(module.uptime_s)}), h("td", {text: module.restarts}),
                 h("td", {text: bytes(module.rss_bytes)}),
                 h("td", {class: "muted", text: stage ? `${stage.stage_name} · ${stage.state}` : "—"}));
      }), {class: "modules"}) : unavailable()));
    body.lastElementChild.classList.add("wide");
    const queue = data.queue;
    body.append(card("Job queue", queue ? [
      h("div", {class: "numbers"}, big(queue.queued, "queued", "queue-depth"), big(queue.running, "running"),
        big(queue.oldest_queued_at ? duration(now - queue.oldest_queued_at) : "—", "oldest waiting")),
      queue.by_submitter.length ? table(["Validator (submitter)", "Queued or running"],
        queue.by_submitter.map(([who, count]) => h("tr", {}, h("td", {class: "mono", text: who}),
                                                  h("td", {text: count})))) : h("p", {class: "muted", text: "Nothing waiting."}),
      queue.submitters > queue.by_submitter.length ?
        h("p", {class: "muted", text: `… and ${queue.submitters - queue.by_submitter.length} more`}) : null,
    ] : unavailable()));
    const axon = data.axon || {};
    body.append(card("Axon traffic",
      h("div", {class: "numbers"}, big(rate(axon.requests_per_min), "requests / min", "requests-rate"),
        big(rate(axon.refusals_per_min), "refused / min", "refusals-rate")),
      h("p", {class: "muted", text: `since start: ${number(axon.requests_total)} requests, ${number(axon.refusals_total)} refused`}),
      h("div", {class: "spark-label", text: "requests per minute, last 30 min"}), sparkBars(axon.requests_history || [], "requests"),
      h("div", {class: "spark-label", text: "refusals per minute"}), sparkBars(axon.refusals_history || [], "refusals")));
    const accounts = data.accounts || {total: 0, by_state: {}};
    body.append(card("Accounts",
      h("div", {class: "numbers"}, big(accounts.total, "accounts"),
        ...["running", "stalled", "crashed", "failed", "completed"].map((state) =>
          h("a", {href: `#/accounts/${state}`, class: "big"}, h("strong", {text: number(
            state === "stalled" || state === "crashed" ? accounts[state] : accounts.by_state[state] || 0)}),
            h("span", {text: state}))))));
    const errors = Object.entries(data.errors || {});
    if (errors.length) {
      body.append(card("Unavailable", h("ul", {}, errors.map(([part, kind]) => h("li", {text: `${part}: ${kind}`})))));
    }
    updated.textContent = `updated ${ago(data.time, now)}`;
  }

  return {
    async load() { data = await ctx.api("overview"); ctx.clock(data.time); render(); },
    onOverview(next) { data = next; render(); },
    failed(err) { clear(body).append(h("p", {class: "error", text: String(err.message || err)})); },
  };
}

function fact(name, value) {
  return [h("dt", {text: name}), h("dd", {text: value === undefined || value === null || value === "" ? "—" : value})];
}

function big(value, label, testid) {
  return h("div", {class: "big", "data-testid": testid || null}, h("strong", {text: value}), h("span", {text: label}));
}

function rate(value) {
  return value === null || value === undefined ? "—" : number(value, value < 10 ? 1 : 0);
}

function unavailable() {
  return h("p", {class: "muted", text: "unavailable"});
}
