// SVG charts drawn by hand: a Gantt chart of one run, a line chart of durations, a bar sparkline.
import {duration, s, clock} from "./ui.js";

const SOURCE_SHORT = {module1: "M1", module2: "M2", miner: "miner"};

function shortSource(source) {
  return SOURCE_SHORT[source] || source;
}

// One run of an account: a row per (source, stage), a bar from its start to its end.
export function gantt(run, now) {
  const rows = [];
  const index = new Map();
  for (const bar of run.bars) {
    const key = `${bar.source}/${bar.stage_number}`;
    if (!index.has(key)) { index.set(key, rows.length); rows.push(bar); }
  }
  const start = run.start;
  const end = Math.max(run.end, ...run.bars.map((bar) => bar.end ?? (bar.status === "running" ? now : bar.start)));
  const span = Math.max(end - start, 0.001);
  const label = 190, width = 720, plot = width - label - 70, rowHeight = 22, top = 6;
  const height = top + rows.length * rowHeight + 26;
  const x = (t) => label + ((t - start) / span) * plot;
  const svg = s("svg", {class: "gantt", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
                        "aria-label": `Stages of the run started ${clock(start)}`});
  rows.forEach((bar, row) => {
    const y = top + row * rowHeight;
    svg.append(s("text", {x: 4, y: y + 15, class: "gantt-label"},
                 `${shortSource(bar.source)} · ${bar.stage_number ?? "?"} ${bar.stage_name}`));
    svg.append(s("line", {x1: label, x2: label + plot, y1: y + rowHeight - 1, y2: y + rowHeight - 1, class: "grid"}));
  });
  for (const bar of run.bars) {
    const row = index.get(`${bar.source}/${bar.stage_number}`);
    const y = top + row * rowHeight + 4;
    const finish = bar.end ?? (bar.status === "running" ? now : bar.start);
    const left = x(bar.start), barWidth = Math.max(3, x(finish) - left);
    const took = bar.duration_s ?? (bar.status === "running" ? now - bar.start : null);
    const shape = s("rect", {x: left, y, width: barWidth, height: rowHeight - 8, rx: 2,
                             class: `gantt-bar status-${bar.status}${bar.flag ? " flag-" + bar.flag : ""}`,
                             "data-stage": bar.stage_number, "data-source": bar.source, "data-status": bar.status},
                      s("title", {}, `${bar.stage_name}: ${bar.status}${bar.flag ? " (" + bar.flag + ")" : ""}` +
                                     `, ${duration(took)}\n${bar.message}`));
    svg.append(shape);
    svg.append(s("text", {x: Math.min(left + barWidth + 4, width - 66), y: y + 11, class: "gantt-time"},
                 bar.status === "running" ? `${duration(took)}…` : duration(took)));
  }
  const axisY = top + rows.length * rowHeight + 16;
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s("text", {x: label + fraction * plot, y: axisY, class: "axis", "text-anchor": fraction === 0 ? "start" :
                                                                                   fraction === 1 ? "end" : "middle"},
                 fraction === 0 ? clock(start) : `+${duration(span * fraction)}`));
  }
  return svg;
}

// p50 and p95 durations of one stage over the window's buckets.
export function durationChart(series, window) {
  const width = 320, height = 110, left = 44, right = 8, top = 10, bottom = 20;
  const plotW = width - left - right, plotH = height - top - bottom;
  const points = series.buckets;
  const top95 = Math.max(...points.map((b) => b.p95_s), 0.001);
  const x = (t) => left + ((t + window.bucket_s / 2 - window.start) / (window.end - window.start)) * plotW;
  const y = (v) => top + plotH - (v / top95) * plotH;
  const svg = s("svg", {class: "lines", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
                        "aria-label": `${series.stage_name} durations over time`});
  svg.append(s("line", {x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH, class: "grid"}));
  svg.append(s("line", {x1: left, x2: left + plotW, y1: top, y2: top, class: "grid"}));
  svg.append(s("text", {x: left - 4, y: top + 4, class: "axis", "text-anchor": "end"}, duration(top95)));
  svg.append(s("text", {x: left - 4, y: top + plotH, class: "axis", "text-anchor": "end"}, "0"));
  svg.append(s("text", {x: left, y: height - 4, class: "axis"}, clock(window.start)));
  svg.append(s("text", {x: left + plotW, y: height - 4, class: "axis", "text-anchor": "end"}, "now"));
  for (const [key, css] of [["p95_s", "p95"], ["p50_s", "p50"]]) {
    const path = points.map((b, i) => `${i ? "L" : "M"}${x(b.start).toFixed(1)},${y(b[key]).toFixed(1)}`).join(" ");
    svg.append(s("path", {d: path, class: `line ${css}`}));
    for (const b of points) {
      svg.append(s("circle", {cx: x(b.start), cy: y(b[key]), r: 2.2, class: `dot ${css}`},
                   s("title", {}, `${clock(b.start)}: ${css} ${duration(b[key])} (${b.count} runs)`)));
    }
  }
  return svg;
}

// Per-minute counts as bars (axon traffic over the last half hour).
export function sparkBars(history, css) {
  const width = 240, height = 36;
  const svg = s("svg", {class: `spark ${css}`, viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img"});
  if (!history.length) {
    svg.append(s("text", {x: 4, y: 22, class: "axis"}, "per-minute history after the first minute"));
    return svg;
  }
  const most = Math.max(...history.map((item) => item[1]), 1);
  const step = width / 30;
  history.slice(-30).forEach(([minute, count], i, shown) => {
    const barHeight = (count / most) * (height - 4);
    svg.append(s("rect", {x: width - (shown.length - i) * step + 1, y: height - barHeight, width: step - 2,
                          height: Math.max(barHeight, 0.5), class: "spark-bar"},
                 s("title", {}, `${clock(minute)}: ${count}`)));
  });
  return svg;
}
