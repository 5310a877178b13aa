// Stage analytics: per stage runs, success rate, p50/p95/max and durations over time; the slowest
// accounts; the top failure reasons. From the miner's history analytics (the history command's figures).
import {h, clear, card, table, accountLink, duration, clock, percent, number, bar} from "./ui.js";
import {durationChart} from "./charts.js";

const WINDOWS = ["1h", "6h", "24h", "7d", "30d"];

export function mount(root, ctx) {
  let since = "24h";
  let report = null;
  let dirty = false;  // events arrived since the last report
  let timer = null;
  const picker = h("div", {class: "controls"});
  const body = h("div", {});
  root.append(h("h1", {text: "Stage analytics"}), picker, body);

  function renderPicker() {
    clear(picker).append(h("span", {class: "muted", text: "window: "}),
      ...WINDOWS.map((value) => h("button", {class: value === since ? "active" : "", "data-since": value, text: value,
                                          onclick: () => { since = value; load(); }})),
      h("span", {class: "spacer"}),
      report ? h("span", {class: "muted", text: `${number(report.events)} events · computed ${clock(report.computed_at)} in ${duration(report.cost_s)}`}) : null);
  }

  function render() {
    renderPicker();
    clear(body);
    const stages = report.stages.filter((stage) => stage.stage_number !== 0 || stage.completed + stage.failed > 0);
    body.append(card("Stages", stages.length ? table(
      ["Source", "Stage", "Runs", "Completed", "Failed", "Interrupted", "Success", "p50", "p95", "Max"],
      stages.map((stage) => h("tr", {"data-stage": `${stage.source}/${stage.stage_number}`},
        h("td", {text: stage.source}), h("td", {text: `${stage.stage_number} · ${stage.stage_name}`}),
        h("td", {text: number(stage.started)}), h("td", {text: number(stage.completed)}),
        h("td", {text: number(stage.failed)}), h("td", {text: number(stage.interrupted)}),
        h("td", {class: "rate"}, bar(stage.success_rate, stage.success_rate === null || stage.success_rate > 0.9 ? "completed" : "failed"),
          h("small", {text: ` ${percent(stage.success_rate)}`})),
        h("td", {text: duration(stage.p50_s)}), h("td", {text: duration(stage.p95_s)}), h("td", {text: duration(stage.max_s)}))),
      {class: "stages"}) : h("p", {class: "muted", text: "No stage ended in this window."})));
    const series = report.durations_over_time.filter((item) => item.buckets.length);
    body.append(card("Durations over time (p50 solid, p95 dashed)", series.length ?
      h("div", {class: "small-multiples"}, series.map((item) => h("figure", {},
        h("figcaption", {text: `${item.source} · ${item.stage_number} ${item.stage_name}`}), durationChart(item, report.window))))
      : h("p", {class: "muted", text: "No completed runs in this window."})));
    body.append(h("div", {class: "grid"},
      card("Slowest accounts", report.slowest_accounts.length ? table(["Account", "Longest stage", "Took", "All stages", "Runs", "When"],
        report.slowest_accounts.map((slow) => h("tr", {}, h("td", {}, accountLink(slow.username)),
          h("td", {text: `${slow.stage_number} · ${slow.stage_name}`}), h("td", {text: duration(slow.longest_s)}),
          h("td", {text: duration(slow.total_s)}), h("td", {text: slow.runs}), h("td", {text: clock(slow.at)})))) :
        h("p", {class: "muted", text: "None."})),
      card("Top failure reasons", report.failure_reasons.length ? table(["Stage", "Reason", "Count", "Accounts", "Last"],
        report.failure_reasons.map((reason) => h("tr", {"data-reason": reason.reason},
          h("td", {text: `${reason.source} · ${reason.stage_number} ${reason.stage_name}`}),
          h("td", {title: reason.example, text: reason.reason}), h("td", {text: number(reason.count)}),
          h("td", {text: number(reason.accounts)}), h("td", {text: clock(reason.last_at)})))) :
        h("p", {class: "muted", text: "No failures in this window."}))));
  }

  async function load() {
    clearTimeout(timer);
    dirty = false;
    report = await ctx.api("analytics", {since});
    render();
  }

  function refreshLater() {
    // The miner recomputes a report at most every `next_refresh_s` (it costs a read of the window).
    dirty = true;
    if (timer) return;
    timer = setTimeout(() => { timer = null; if (dirty) load().catch(() => {}); },
                       Math.max(250, (report ? report.next_refresh_s : 0) * 1000));
  }

  renderPicker();
  return {
    load,
    onEvents(message) { if (message.events.some((event) => event.status !== "running")) refreshLater(); },
    unmount() { clearTimeout(timer); },
    failed(err) { clear(body).append(h("p", {class: "error", text: String(err.message || err)})); },
  };
}
