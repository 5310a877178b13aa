// One account: its current stage, a Gantt chart per run, its failures with reasons, its plan and pictures.
// Also the plan itself (#/plan/<platform>/<name>): the Markdown, rendered by the miner with raw HTML off.
import {h, clear, card, table, chip, flags, bar, stageText, duration, ago, clock, debounce} from "./ui.js";
import {gantt} from "./charts.js";

export function mount(root, ctx, name, args) {
  return name === "plan" ? planView(root, ctx, args[0], args[1]) : accountView(root, ctx, args[0] || "");
}

function accountView(root, ctx, username) {
  let data = null;
  const header = h("div", {class: "account-head"});
  const runs = h("div", {id: "runs"});
  const failures = h("div", {id: "failures"});
  const filesBox = h("div", {id: "files"});
  root.append(h("p", {}, h("a", {href: "#/accounts", text: "‹ all accounts"})),
              h("h1", {"data-account": username, text: username}), header,
              card("Timeline", h("p", {class: "muted", text: "One chart per run (newest first); a bar per stage."}), runs),
              card("Failures", failures), card("Plan, charts and images", filesBox));

  function renderHeader() {
    clear(header);
    const row = data && data.row;
    if (!row) { header.append(h("p", {class: "muted", text: "No current stage."})); return; }
    const now = ctx.now();
    const eta = row.pipeline_eta_s ?? row.eta_s;
    header.append(h("div", {class: "numbers"},
      h("div", {class: "big"}, h("strong", {"data-testid": "account-stage", text: stageText(row)}), h("span", {text: row.source})),
      h("div", {class: "big"}, h("strong", {}, chip(row.state), flags(row)), h("span", {text: "state"})),
      h("div", {class: "big wide"}, bar(row.fraction, row.state), h("span", {text: "pipeline"})),
      h("div", {class: "big"}, h("strong", {text: row.state === "running" ? duration(eta) : "—"}), h("span", {text: "ETA"})),
      h("div", {class: "big"}, h("strong", {text: ago(row.since, now)}), h("span", {text: "since"})),
      h("div", {class: "big"}, h("strong", {text: row.last_plan_at ? clock(row.last_plan_at) : "never"}),
        h("span", {text: "last plan"}))));
  }

  function render() {
    renderHeader();
    clear(runs);
    const now = ctx.now();
    if (!data.runs.length) runs.append(h("p", {class: "muted", text: "No stage runs in the log."}));
    for (const run of data.runs) {
      runs.append(h("div", {class: `run run-${run.status}`, "data-run-status": run.status},
        h("div", {class: "run-head"}, chip(run.status), ` started ${clock(run.start)}, `,
          run.status === "running" ? `running for ${duration(now - run.start)}` : `took ${duration(run.end - run.start)}`),
        gantt(run, now)));
    }
    clear(failures).append(data.failures.length ? table(["When", "Source", "Stage", "Reason", "After"],
      data.failures.map((failure) => h("tr", {"data-failure": failure.seq, "data-stage": failure.stage_number},
        h("td", {text: clock(failure.ts)}), h("td", {text: failure.source}),
        h("td", {text: `${failure.stage_number} · ${failure.stage_name}`}),
        h("td", {class: "failure-reason"}, failure.message, failure.flag ? h("span", {class: `flag flag-${failure.flag}`,
                                                                                    text: failure.flag}) : null),
        h("td", {text: duration(failure.duration_s)}))), {class: "failures"})
      : h("p", {class: "muted", text: "No failures."}));
    clear(filesBox);
    if (!data.files.length) filesBox.append(h("p", {class: "muted", text: "No plan or pictures yet."}));
    for (const found of data.files) {
      const base = `files/%KIND%/${encodeURIComponent(found.platform)}/${encodeURIComponent(username)}/`;
      filesBox.append(h("h3", {text: found.platform}),
        found.plan ? h("p", {}, h("a", {href: `#/plan/${encodeURIComponent(found.platform)}/${encodeURIComponent(username)}`,
                                        class: "plan-link", text: "Content plan (Markdown)"}),
                       h("span", {class: "muted", text: ` written ${clock(found.plan_mtime)}`})) : null,
        found.charts.length ? h("div", {class: "thumbs"}, found.charts.map((file) => picture(base.replace("%KIND%", "exports") + file, file))) : null,
        found.images.length ? h("div", {class: "thumbs"}, found.images.map((file) => picture(base.replace("%KIND%", "images") + file, file))) : null);
    }
  }

  async function load() {
    data = await ctx.api(`accounts/${encodeURIComponent(username)}`);
    ctx.clock(data.time);
    render();
  }
  const reloadSoon = debounce(() => load().catch(() => {}), 150);

  return {
    load,
    onEvents(message) { if (message.events.some((event) => event.username === username)) reloadSoon(); },
    onAccounts(message) {
      const row = message.rows.find((item) => item.username === username);
      if (row && data) { data.row = row; renderHeader(); }
    },
    tick() { if (data) renderHeader(); },
    failed(err) { clear(header).append(h("p", {class: "error", text: String(err.message || err)})); },
  };
}

function picture(url, name) {
  return h("a", {href: url, target: "_blank", rel: "noopener", class: "thumb", title: name},
           h("img", {src: url, alt: name, loading: "lazy"}), h("span", {text: name}));
}

function planView(root, ctx, platform, username) {
  const body = h("article", {class: "markdown", id: "plan"});
  root.append(h("p", {}, h("a", {href: `#/account/${encodeURIComponent(username || "")}`, text: `‹ ${username}`})), body);
  return {
    async load() {
      const plan = await ctx.api(`accounts/${encodeURIComponent(username)}/plan`, {platform});
      // Rendered by the miner (markdown-it-py, raw HTML off: the plan's text cannot add markup;
      // its pictures point at the miner's own files); the page's CSP allows no script in it either.
      body.innerHTML = plan.html;
    },
    failed(err) { clear(body).append(h("p", {class: "error", text: String(err.message || err)})); },
  };
}
