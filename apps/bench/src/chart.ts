import * as echarts from "echarts";
import type { InProcessResults, SoakResults } from "./results.js";
import { ratioToBound } from "./targets.js";

const WIDTH = 1600;
const HEIGHT = 760;

/** Our rows first and in strong colours; the peers after them in muted ones. */
const COLORS: Record<string, string> = {
  "kv-memory": "#1f6feb",
  "kv-lru": "#2da44e",
  "bound-ref": "#8c959f",
  keyv: "#d4a72c",
  "node-cache": "#e16f24",
  unstorage: "#8250df",
  "cache-manager": "#bf3989",
  "lru-cache-json": "#57606a",
};

/** `get hit (small)` → `get hit\nsmall`: two short lines fit under a bar group, one long one does not. */
function axisLabel(label: string): string {
  return label
    .replace("listAppendUnique (list of ", "listAppend…\nonto ")
    .replace("listPopAll (list of ", "listPopAll\nof ")
    .replace(" (", "\n")
    .replace(/\)$/, "");
}

/**
 * The in-process ratios as grouped bars: one group per operation, one bar per row,
 * height = ops/s ÷ the bound's ops/s for that operation, on a log axis (the rows span
 * more than an order of magnitude), with the bound drawn as the line at 1.
 * Rendered server-side by echarts to an SVG string: no browser, no hand-drawn SVG.
 */
export function renderChart(data: InProcessResults): string {
  const subjects = data.subjects.filter((s) => s.name !== data.bound);
  const ratios = subjects.flatMap((s) =>
    data.cells.map((c) => ratioToBound(data, s.name, c.id) ?? 1),
  );
  // Whole decades, so the log axis is labelled 0.01×, 0.1×, 1×, 10×…
  const max = 10 ** Math.max(1, Math.ceil(Math.log10(Math.max(...ratios))));
  const min = 10 ** Math.min(-1, Math.floor(Math.log10(Math.min(...ratios))));
  const chart = echarts.init(null, null, {
    renderer: "svg",
    ssr: true,
    width: WIDTH,
    height: HEIGHT,
  });
  chart.setOption({
    animation: false,
    backgroundColor: "#ffffff",
    textStyle: { fontFamily: "Helvetica, Arial, sans-serif" },
    title: {
      text: "In-process throughput relative to the bound (a Map of JSON strings with a deadline check)",
      subtext:
        "ops/s ÷ bound's ops/s per operation, log scale; above 1 = faster than the bound. † keeps references (no copy): not like-for-like.",
      left: "center",
      textStyle: { fontSize: 18 },
      subtextStyle: { fontSize: 13, color: "#57606a" },
    },
    legend: { top: 62, itemGap: 18, textStyle: { fontSize: 13 } },
    grid: { left: 70, right: 30, top: 110, bottom: 70 },
    tooltip: {},
    xAxis: {
      type: "category",
      data: data.cells.map((c) => axisLabel(c.label)),
      axisLabel: { interval: 0, fontSize: 11, lineHeight: 14 },
      axisTick: { alignWithLabel: false },
    },
    yAxis: {
      type: "log",
      logBase: 10,
      min,
      max,
      name: "× the bound",
      nameTextStyle: { fontSize: 13 },
      axisLabel: { fontSize: 12, formatter: (v: number) => `${v}×` },
      splitLine: { lineStyle: { color: "#eaeef2" } },
    },
    series: subjects.map((s, i) => ({
      name: s.copies ? s.name : `${s.name} †`,
      type: "bar",
      barGap: "8%",
      barCategoryGap: "22%",
      // Rows that keep references are faded: they skip the copy every other row pays for.
      itemStyle: { color: COLORS[s.name] ?? "#999999", opacity: s.copies ? 1 : 0.4 },
      data: data.cells.map((c) => {
        const r = ratioToBound(data, s.name, c.id);
        return r === undefined ? null : Number(r.toFixed(3));
      }),
      ...(i === 0
        ? {
            markLine: {
              symbol: "none",
              silent: true,
              lineStyle: { color: "#cf222e", type: "dashed", width: 1.5 },
              label: { formatter: "bound = 1×", position: "insideEndTop", color: "#cf222e" },
              data: [{ yAxis: 1 }],
            },
          }
        : {}),
    })),
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

/** Blues for @kv/memory, greens for @kv/lru, one shade per run. */
const SOAK_SHADES: Record<string, string[]> = {
  "kv-memory": ["#0a3069", "#1f6feb", "#54aeff", "#8250df"],
  "kv-lru": ["#044f1e", "#2da44e", "#6fdd8b", "#bf8700"],
};

/**
 * The soak over time, two panels: entries held ÷ live (left, with the 1.5× target as a
 * dashed line) and the store's heap after a full GC in MiB (right). One line per run:
 * blues for @kv/memory, greens for @kv/lru, dashed for mixed TTLs. Same renderer and
 * style as the in-process chart.
 */
export function renderSoakChart(data: SoakResults): string {
  const chart = echarts.init(null, null, {
    renderer: "svg",
    ssr: true,
    width: WIDTH,
    height: 620,
  });
  const used: Record<string, number> = {};
  // The baseline (no TTL) has no held ÷ live story to tell: its heap grows by design.
  const series = data.runs
    .filter((r) => r.ttlsMs.length > 0)
    .flatMap((r) => {
      const i = used[r.backend] ?? 0;
      used[r.backend] = i + 1;
      const color = SOAK_SHADES[r.backend]?.[i % 4] ?? "#999999";
      const lineStyle = { width: 2, type: r.ttlsMs.length > 1 ? "dashed" : "solid" };
      const common = { type: "line", showSymbol: false, color, lineStyle, name: r.label };
      return [
        {
          ...common,
          xAxisIndex: 0,
          yAxisIndex: 0,
          data: r.samples.map((s) => [s.t, Number((s.held / Math.max(1, s.live)).toFixed(3))]),
          ...(i === 0 && r.backend === data.runs[0]?.backend
            ? {
                markLine: {
                  symbol: "none",
                  silent: true,
                  lineStyle: { color: "#cf222e", type: "dashed", width: 1.5 },
                  label: { formatter: "target 1.5×", position: "insideEndTop", color: "#cf222e" },
                  data: [{ yAxis: 1.5 }],
                },
              }
            : {}),
        },
        {
          ...common,
          xAxisIndex: 1,
          yAxisIndex: 1,
          data: r.samples.map((s) => [s.t, Number(s.heapMiB.toFixed(2))]),
        },
      ];
    });
  chart.setOption({
    animation: false,
    backgroundColor: "#ffffff",
    textStyle: { fontFamily: "Helvetica, Arial, sans-serif" },
    title: {
      text: "Soak: unique keys set at a steady rate, nobody reading (default options, system clock)",
      subtext:
        "left: entries held ÷ live keys; right: the store's heap after a full GC (MiB). Dashed: mixed TTLs (0.2 / 1 / 5 s).",
      left: "center",
      textStyle: { fontSize: 18 },
      subtextStyle: { fontSize: 13, color: "#57606a" },
    },
    legend: { top: 62, itemGap: 14, textStyle: { fontSize: 12 } },
    grid: [
      { left: 70, right: "53%", top: 130, bottom: 60 },
      { left: "55%", right: 30, top: 130, bottom: 60 },
    ],
    tooltip: {},
    xAxis: [0, 1].map((gridIndex) => ({
      type: "value",
      gridIndex,
      name: "s",
      nameLocation: "end",
      axisLabel: { fontSize: 12 },
      splitLine: { lineStyle: { color: "#eaeef2" } },
    })),
    yAxis: [
      {
        type: "value",
        gridIndex: 0,
        min: 0,
        name: "held ÷ live",
        nameTextStyle: { fontSize: 13 },
        axisLabel: { fontSize: 12, formatter: (v: number) => `${v}×` },
        splitLine: { lineStyle: { color: "#eaeef2" } },
      },
      {
        type: "value",
        gridIndex: 1,
        min: 0,
        name: "heap MiB",
        nameTextStyle: { fontSize: 13 },
        axisLabel: { fontSize: 12 },
        splitLine: { lineStyle: { color: "#eaeef2" } },
      },
    ],
    series,
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}
