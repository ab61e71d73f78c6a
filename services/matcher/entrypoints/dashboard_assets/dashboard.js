// sharefab matcher dashboard: polls /dashboard/data and draws inline SVG charts (no library).
"use strict";
(function () {
  const REFRESH_MS = 5000;
  const BUCKETS = 24;
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = { blue: "#2f6fdf", teal: "#12a39a", orange: "#e8871e", red: "#d64545",
                   grey: "#9aa6b2" };
  const $ = (sel) => document.querySelector(sel);

  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const fmt = {
    num: (v, d) => (v === null || v === undefined ? "–" : Number(v).toFixed(d)),
    int: (v) => (v === null || v === undefined ? "–" : String(Math.round(v))),
    pct: (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(1) + " %"),
    sec: (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(2) + " s"),
    hours: (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(1) + " h"),
    km: (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(1) + " km"),
  };

  function setStat(name, text) {
    document.querySelectorAll(`[data-stat="${name}"]`).forEach((el) => { el.textContent = text; });
  }

  function showStats(s) {
    setStat("orders_per_min", fmt.num(s.orders_per_min, 2));
    setStat("orders_submitted", fmt.int(s.orders_submitted));
    setStat("match_rate", fmt.pct(s.match_rate));
    setStat("steps_placed", fmt.int(s.steps_placed));
    setStat("steps_unplaced", fmt.int(s.steps_unplaced));
    setStat("latency_p50", fmt.sec(s.latency.p50_s));
    setStat("latency_p95", fmt.sec(s.latency.p95_s));
    setStat("latency_p99", fmt.sec(s.latency.p99_s));
    setStat("utilisation", fmt.pct(s.utilisation));
    setStat("placed_hours", fmt.hours(s.placed_hours));
    setStat("offered_hours", fmt.hours(s.offered_hours));
    setStat("sme_share", fmt.pct(s.sme_share));
    setStat("sme_hours", fmt.hours(s.sme_hours));
    setStat("mean_transport_km", fmt.km(s.mean_transport_km));
    setStat("match_runs_total", fmt.int(s.match_runs_total));
    setStat("steps_in_production", fmt.int(s.steps_in_production));
    setStat("in_production_hours", fmt.hours(s.in_production_hours));
    setStat("orders_at_risk", fmt.int(s.orders_at_risk));
    setStat("steps_at_risk", fmt.int(s.steps_at_risk));
    setStat("at_risk_hours", fmt.hours(s.at_risk_hours));
    document.getElementById("at-risk").classList.toggle("warn", s.orders_at_risk > 0);
    setStat("orders_completed", fmt.int(s.orders_completed));
    setStat("steps_completed", fmt.int(s.steps_completed));
    setStat("completed_hours", fmt.hours(s.completed_hours));
  }

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, value, anchor) {
    const t = el("text", { x, y, "text-anchor": anchor || "middle" }, parent);
    t.textContent = value;
    return t;
  }

  // The top of the y axis: four equal steps of 1, 2, 2.5 or 5 × 10^k covering v.
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const raw = v / 4, p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return 4 * m * p;
    return 40 * p;
  }

  function timeLabel(iso, spanS) {
    const d = new Date(iso);
    const hm = d.toISOString().slice(11, 16);
    return spanS > 86400 ? d.toISOString().slice(5, 10) + " " + hm : hm;
  }

  // A frame with a y axis (4 grid lines, labelled) and x labels under the buckets.
  function frame(container, points, yMax, yFmt, spanS) {
    container.innerHTML = "";
    const W = Math.max(container.clientWidth, 300), H = container.clientHeight || 210;
    const m = { l: 48, r: 10, t: 8, b: 24 };
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" }, container);
    const iw = W - m.l - m.r, ih = H - m.t - m.b;
    for (let i = 0; i <= 4; i++) {
      const y = m.t + ih - (ih * i) / 4;
      el("line", { x1: m.l, x2: m.l + iw, y1: y, y2: y, class: i ? "grid" : "axis" }, svg);
      text(svg, m.l - 6, y + 4, yFmt((yMax * i) / 4), "end");
    }
    const n = points.length, step = iw / Math.max(n, 1);
    const every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(iw / 70))));
    points.forEach((p, i) => {
      if (i % every === 0) text(svg, m.l + step * i + step / 2, H - 6, timeLabel(p.start, spanS));
    });
    return { svg, x: (i) => m.l + step * i + step / 2, y: (v) => m.t + ih - (ih * v) / yMax,
             step, base: m.t + ih };
  }

  function legend(container, items) {
    const div = document.createElement("div");
    div.className = "legend";
    div.innerHTML = items.map(([name, color]) => `<span><i style="background:${color}"></i>${name}</span>`).join("");
    container.appendChild(div);
  }

  function lines(container, points, series, yFmt, spanS) {
    const all = series.flatMap((s) => points.map((p) => p[s.key])).filter((v) => v !== null);
    const f = frame(container, points, niceMax(Math.max(0, ...all)), yFmt, spanS);
    for (const s of series) {
      let d = "";
      points.forEach((p, i) => {
        const v = p[s.key];
        if (v === null || v === undefined) return;
        d += (d ? " L" : "M") + f.x(i).toFixed(1) + " " + f.y(v).toFixed(1);
        el("circle", { cx: f.x(i), cy: f.y(v), r: 2.5, fill: s.color }, f.svg);
      });
      if (d) {
        el("path", { d, fill: "none", stroke: s.color, "stroke-width": 2,
                     "stroke-dasharray": s.dash || "none" }, f.svg);
      }
    }
    if (series.length > 1) legend(container, series.map((s) => [s.name, s.color]));
  }

  function stacked(container, points, series, yFmt, spanS) {
    const totals = points.map((p) => series.reduce((a, s) => a + (p[s.key] || 0), 0));
    const f = frame(container, points, niceMax(Math.max(0, ...totals)), yFmt, spanS);
    const w = Math.max(2, f.step * 0.7);
    points.forEach((p, i) => {
      let acc = 0;
      for (const s of series) {
        const v = p[s.key] || 0;
        if (v > 0) {
          el("rect", { x: f.x(i) - w / 2, y: f.y(acc + v), width: w,
                       height: f.y(acc) - f.y(acc + v), fill: s.color }, f.svg);
        }
        acc += v;
      }
    });
    legend(container, series.map((s) => [s.name, s.color]));
  }

  function reasons(container, counts) {
    container.innerHTML = "";
    const entries = Object.entries(counts);
    if (!entries.length) {
      container.innerHTML = '<p class="muted">No unplaced steps in the window.</p>';
      return;
    }
    const W = Math.max(container.clientWidth, 300), rowH = 24;
    const H = Math.max(container.clientHeight || 210, entries.length * rowH + 8);
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" }, container);
    const max = Math.max(...entries.map(([, c]) => c)), left = 170, right = 40;
    entries.forEach(([reason, c], i) => {
      const y = 4 + i * rowH, w = ((W - left - right) * c) / max;
      text(svg, left - 8, y + 15, reason.replaceAll("_", " "), "end");
      el("rect", { x: left, y: y + 3, width: Math.max(w, 1), height: rowH - 8, rx: 2,
                   fill: COLORS.orange }, svg);
      text(svg, left + w + 6, y + 15, String(c), "start").setAttribute("data-reason", reason);
    });
  }

  function runs(table, items) {
    const body = table.querySelector("tbody");
    if (!items.length) {
      body.innerHTML = '<tr><td colspan="8" class="muted">no runs in the window</td></tr>';
      return;
    }
    body.innerHTML = items.map((r) => `<tr data-run="${esc(r.id)}">
      <td>${esc(r.started_at.slice(0, 19).replace("T", " "))}</td><td>${esc(r.cluster_id)}</td>
      <td>${esc(r.trigger)}</td><td class="status-${esc(r.status)}">${esc(r.status)}</td>
      <td class="num">${r.placed_steps}</td><td class="num">${r.unplaced_steps}</td>
      <td class="num">${Number(r.wall_s).toFixed(3)}</td>
      <td class="num" data-gap>${r.gap === null ? "–" : (r.gap * 100).toFixed(2) + " %"}</td>
    </tr>`).join("");
  }

  function atRisk(panel, items) {  // shown only while there are orders at risk
    panel.hidden = !items.length;
    panel.querySelector("tbody").innerHTML = items.map((o) => `<tr data-order="${esc(o.order_id)}">
      <td>${esc(o.order_id)}</td><td>${esc(o.buyer_firm_id)}</td>
      <td>${esc(o.due.slice(0, 16).replace("T", " "))}</td>
      <td class="num">${o.steps_completed} of ${o.steps}</td>
      <td class="num">${o.steps_at_risk} · ${fmt.hours(o.at_risk_hours)}</td>
      <td>${o.unplaced.map((u) => `${esc(u.key)} (${esc(u.reason)})`).join(", ")}</td>
    </tr>`).join("");
  }

  function show(data) {
    const s = data.stats, series = data.series, pts = series.points, span = s.window_s;
    showStats(s);
    const n0 = (v) => (Number.isInteger(v) ? String(v) : String(Number(v.toFixed(2))));
    lines($("#chart-throughput"), pts, [{ key: "orders_per_min", name: "orders/min",
                                          color: COLORS.blue }], n0, span);
    lines($("#chart-latency"), pts, [  // p99 dashed and last: where it equals p95 (few orders
      // in a bucket) both stay visible, p95 through the dashes' gaps
      { key: "latency_p50_s", name: "p50", color: COLORS.teal },
      { key: "latency_p95_s", name: "p95", color: COLORS.orange },
      { key: "latency_p99_s", name: "p99", color: COLORS.red, dash: "5 3" }],
      (v) => n0(v) + " s", span);
    stacked($("#chart-steps"), pts, [
      { key: "steps_placed", name: "placed", color: COLORS.teal },
      { key: "steps_unplaced", name: "unplaced", color: COLORS.red }], n0, span);
    reasons($("#chart-reasons"), s.unplaced_reasons);
    runs($("#runs"), s.match_runs);
    atRisk($("#at-risk-panel"), data.at_risk);
    $("#updated").textContent = "updated " + new Date().toISOString().slice(11, 19) + " UTC";
    document.body.dataset.loaded = "true";
  }

  async function refresh() {
    const q = new URLSearchParams({ window: $("#window").value, buckets: BUCKETS });
    const cluster = $("#cluster").value.trim();
    if (cluster) q.set("cluster", cluster);
    try {
      const r = await fetch("/dashboard/data?" + q, { credentials: "same-origin" });
      if (r.status === 401) { window.location.assign("/dashboard"); return; }
      if (!r.ok) throw new Error((await r.json()).detail || r.statusText);
      show(await r.json());
      $("#error").hidden = true;
    } catch (err) {
      $("#error").textContent = "Could not refresh: " + err.message;
      $("#error").hidden = false;
    }
  }

  $("#controls").addEventListener("change", refresh);
  $("#controls").addEventListener("submit", (ev) => { ev.preventDefault(); refresh(); });
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
