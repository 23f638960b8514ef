// volley's HTML report: draws the charts from the inline VOLLEY data with
// uPlot. Each chart's container is marked (dataset.drawn, dataset.points)
// once uPlot has drawn it, and the body's dataset.charts counts them when all
// have, so that a test (or a person with the inspector) can tell that the
// charts really drew.
(function () {
  "use strict";
  const D = VOLLEY;
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim() || "#888";
  const fg = color("--fg"), muted = color("--muted"), grid = color("--grid");
  const palette = ["--c1", "--c2", "--c3", "--c4", "--c5", "--c6"].map(color);

  function showError(msg) {
    const el = document.getElementById("error");
    el.hidden = false;
    el.textContent = "The report could not draw a chart: " + msg;
    document.body.dataset.error = msg;
  }
  window.addEventListener("error", (e) => showError(String(e.message || e)));

  // fmtMs formats milliseconds like the text report: 174µs, 1.23ms, 412ms, 1.02s.
  function fmtMs(v) {
    if (v == null || isNaN(v)) return "–";
    if (v === 0) return "0";
    if (v < 1) return (v * 1000).toFixed(0) + "µs";
    if (v < 10) return v.toFixed(2) + "ms";
    if (v < 100) return v.toFixed(1) + "ms";
    if (v < 1000) return v.toFixed(0) + "ms";
    if (v < 60000) return (v / 1000).toFixed(2) + "s";
    return (v / 1000).toFixed(0) + "s";
  }
  // fmtTick is fmtMs without trailing zeros, for axis ticks: 50ms, 2.5ms.
  function fmtTick(v) {
    return fmtMs(v).replace(/\.0+(?=[a-zµ])/, "").replace(/(\.\d*?)0+(?=[a-zµ])/, "$1");
  }
  function fmtNum(v) {
    if (v == null || isNaN(v)) return "–";
    if (Math.abs(v) >= 100 || v === Math.round(v)) return Math.round(v).toLocaleString("en-US");
    return v.toFixed(1);
  }
  // fmtPct labels x = 1/(1-q) as the percentile q: 2 → 50%, 1000 → 99.9%.
  function fmtPct(x) {
    if (x == null) return "–";
    if (x <= 1) return "0%";
    const q = 100 - 100 / x;
    const digits = Math.max(0, Math.ceil(Math.log10(x) - 1e-9) - 2);
    return q.toFixed(Math.min(digits, 6)) + "%";
  }

  function axis(extra) {
    return Object.assign({
      stroke: muted,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: "12px system-ui, sans-serif",
      labelFont: "12px system-ui, sans-serif",
    }, extra);
  }

  const charts = [];
  let drawn = 0;
  const total = 4;
  function markDrawn(el, points) {
    if (el.dataset.drawn !== "1") {
      el.dataset.drawn = "1";
      el.dataset.points = String(points);
      drawn++;
      if (drawn === total) document.body.dataset.charts = String(drawn);
    }
  }

  function make(id, opts, data) {
    const el = document.getElementById(id);
    const points = data[0].length;
    opts.width = Math.max(320, el.clientWidth);
    opts.height = 300;
    opts.hooks = { draw: [() => markDrawn(el, points)] };
    try {
      const u = new uPlot(opts, data, el);
      charts.push([u, el]);
    } catch (e) {
      console.error("volley report: chart " + id + ": " + e);
      showError(id + ": " + e);
    }
  }

  const cursor = { sync: { key: "volley-time" } };
  const timeAxis = axis({ label: "seconds since start", values: (u, s) => s.map((v) => v + "s") });
  const msAxis = axis({ values: (u, s) => s.map(fmtTick), size: 64 });
  const zeroRange = (u, min, max) => [0, max > 0 ? max * 1.08 : 1];

  // Latency over time.
  {
    const name = D.open ? "corrected " : "";
    const series = [
      { label: "t", value: (u, v) => (v == null ? "–" : v.toFixed(1) + "s") },
      { label: name + "p50", stroke: palette[1], width: 1.5, value: (u, v) => fmtMs(v) },
      { label: name + "p90", stroke: palette[2], width: 1.5, value: (u, v) => fmtMs(v) },
      { label: name + "p99", stroke: palette[3], width: 2, value: (u, v) => fmtMs(v) },
      { label: name + "max", stroke: palette[4], width: 1, value: (u, v) => fmtMs(v) },
    ];
    const data = [D.t, D.p50, D.p90, D.p99, D.max];
    if (D.open) {
      // In a closed loop service time is the latency: no second line.
      series.push({ label: "service p99", stroke: palette[0], width: 1.5, dash: [6, 4], value: (u, v) => fmtMs(v) });
      data.push(D.service_p99);
    }
    make("chart-latency", {
      cursor,
      scales: { x: { time: false }, y: { range: zeroRange } },
      series,
      axes: [timeAxis, msAxis],
    }, data);
  }

  // Throughput against the target.
  {
    const series = [
      { label: "t", value: (u, v) => (v == null ? "–" : v.toFixed(1) + "s") },
      { label: "achieved req/s", stroke: palette[0], width: 2, fill: palette[0] + "22", value: (u, v) => fmtNum(v) },
    ];
    const data = [D.t, D.rps];
    const axes = [timeAxis, axis({ values: (u, s) => s.map(fmtNum), size: 64, label: "req/s" })];
    const scales = { x: { time: false }, y: { range: zeroRange } };
    if (D.target) {
      if (D.target_unit === "connections") {
        scales.conns = { range: zeroRange };
        series.push({ label: "target connections", scale: "conns", stroke: palette[2], width: 2, dash: [6, 4], value: (u, v) => fmtNum(v) });
        axes.push(axis({ scale: "conns", side: 1, grid: { show: false }, label: "connections", values: (u, s) => s.map(fmtNum) }));
      } else {
        series.push({ label: "target req/s", stroke: palette[2], width: 2, dash: [6, 4], value: (u, v) => fmtNum(v) });
      }
      data.push(D.target);
    }
    make("chart-rps", { cursor, scales, series, axes }, data);
  }

  // Status classes and transport errors over time.
  {
    const order = ["2xx", "answered", "3xx", "1xx", "4xx", "5xx", "error"];
    const colors = { "2xx": palette[1], answered: palette[1], "3xx": palette[0], "1xx": palette[5], "4xx": palette[2], "5xx": palette[3], error: palette[4] };
    const series = [{ label: "t", value: (u, v) => (v == null ? "–" : v.toFixed(1) + "s") }];
    const data = [D.t];
    for (const c of order) {
      if (!D.classes[c]) continue;
      series.push({ label: c + "/s", stroke: colors[c], width: c === "2xx" || c === "answered" ? 1.5 : 2, value: (u, v) => fmtNum(v) });
      data.push(D.classes[c]);
    }
    make("chart-status", {
      cursor,
      scales: { x: { time: false }, y: { range: zeroRange } },
      series,
      axes: [timeAxis, axis({ values: (u, s) => s.map(fmtNum), size: 64, label: "per second" })],
    }, data);
  }

  // Percentile spectrum on a log axis of 1/(1-q).
  {
    const xs = D.spec_x || [];
    const xmax = xs.length ? xs[xs.length - 1] : 10;
    const splits = () => {
      const out = [1, 2, 4, 10];
      for (let x = 100; x <= xmax * 1.0001; x *= 10) out.push(x);
      return out.filter((x) => x <= Math.max(xmax, 10));
    };
    const series = [{ label: "percentile", value: (u, v) => fmtPct(v) }];
    const data = [xs];
    if (D.open && D.spec_corrected) {
      series.push({ label: "corrected", stroke: palette[3], width: 2, value: (u, v) => fmtMs(v) });
      data.push(D.spec_corrected);
    }
    if (D.spec_service) {
      series.push({ label: D.open ? "service" : "service time", stroke: palette[0], width: 2, dash: D.open ? [6, 4] : undefined, value: (u, v) => fmtMs(v) });
      data.push(D.spec_service);
    }
    make("chart-spectrum", {
      scales: { x: { time: false, distr: 3, log: 10, range: () => [1, Math.max(xmax, 10)] }, y: { range: zeroRange } },
      series,
      axes: [
        axis({ label: "percentile", splits, filter: (u, s) => s, values: (u, s) => s.map(fmtPct) }),
        msAxis,
      ],
    }, data);
  }

  let timer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      for (const [u, el] of charts) u.setSize({ width: Math.max(320, el.clientWidth), height: 300 });
    }, 100);
  });
})();
