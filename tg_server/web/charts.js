// DOM helpers and hand-made SVG charts. Text always goes in as text nodes, never as HTML.

const SVG = "http://www.w3.org/2000/svg";

function build(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") {
      for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key === "text") {
      node.textContent = value;
    } else if (key in node && !(node instanceof SVGElement) && key !== "list") {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : value);
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);
export const s = (tag, attrs, ...children) =>
  build(document.createElementNS(SVG, tag), attrs, children);

export function fmtDuration(seconds) {
  seconds = Math.round(seconds || 0);
  if (seconds < 60) return `${seconds}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m`;
}

// A list of labelled bars: [{label, seconds, color, sub}] largest first.
export function barList(items, { testid, empty = "Nothing recorded.", limit = 10 } = {}) {
  if (!items.length) return h("p", { className: "empty", dataset: { testid } }, empty);
  const max = Math.max(...items.map((i) => i.seconds), 1);
  return h("ol", { className: "barlist", dataset: { testid } },
    items.slice(0, limit).map((item) =>
      h("li", { dataset: { seconds: item.seconds, name: item.label }, title: item.title || item.label },
        h("span", { className: "label" }, item.label,
          item.sub ? h("small", null, item.sub) : null),
        h("span", { className: "value" }, fmtDuration(item.seconds)),
        h("span", { className: "bar" },
          h("span", { style: `width:${(100 * item.seconds / max).toFixed(2)}%;` +
                              `background:${item.color || "var(--accent)"}` })))));
}

// A donut of [{label, seconds, color}].
export function donut(items, { size = 180, testid } = {}) {
  const total = items.reduce((a, i) => a + i.seconds, 0);
  const r = size / 2 - 12;
  const c = size / 2;
  const svg = s("svg", { viewBox: `0 0 ${size} ${size}`, class: "donut", role: "img",
                         "aria-label": "Time by category", "data-testid": testid });
  if (!total) {
    svg.append(s("circle", { cx: c, cy: c, r, fill: "none", stroke: "var(--grid)", "stroke-width": 22 }));
    return svg;
  }
  let angle = -Math.PI / 2;
  for (const item of items) {
    const frac = item.seconds / total;
    if (frac <= 0) continue;
    const label = `${item.label}: ${fmtDuration(item.seconds)} (${Math.round(frac * 100)}%)`;
    if (frac >= 0.9999) {
      svg.append(s("circle", { cx: c, cy: c, r, fill: "none", stroke: item.color, "stroke-width": 22 },
        s("title", null, label)));
      break;
    }
    const end = angle + frac * 2 * Math.PI;
    const large = frac > 0.5 ? 1 : 0;
    const d = `M ${c + r * Math.cos(angle)} ${c + r * Math.sin(angle)} ` +
              `A ${r} ${r} 0 ${large} 1 ${c + r * Math.cos(end)} ${c + r * Math.sin(end)}`;
    svg.append(s("path", { d, fill: "none", stroke: item.color, "stroke-width": 22,
                           "data-category": item.label }, s("title", null, label)));
    angle = end;
  }
  svg.append(s("text", { x: c, y: c + 6, "text-anchor": "middle", class: "donut-total" },
    fmtDuration(total)));
  return svg;
}

// 24 bars of seconds per local hour, in the report's order (from the start of day).
export function hourChart(hours, { testid } = {}) {
  const W = 1000, H = 150, pad = 48, bw = (W - pad) / 24;
  const max = Math.max(3600, ...hours.map((x) => x.seconds));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "hours", role: "img",
                         "aria-label": "Active time per hour", "data-testid": testid });
  for (const frac of [0.5, 1]) {
    const y = H - pad - frac * (H - pad - 8);
    svg.append(s("line", { x1: pad, x2: W, y1: y, y2: y, class: "gridline" }));
    svg.append(s("text", { x: pad - 6, y: y + 4, "text-anchor": "end", class: "axis" },
      fmtDuration(frac * max)));
  }
  hours.forEach((hour, i) => {
    const bh = (hour.seconds / max) * (H - pad - 8);
    const x = pad + i * bw;
    svg.append(s("rect", { x: x + 2, y: H - pad - bh, width: bw - 4, height: Math.max(bh, 0),
                           rx: 2, class: "hour-bar", "data-hour": hour.hour,
                           "data-seconds": hour.seconds },
      s("title", null, `${String(hour.hour).padStart(2, "0")}:00 – ${fmtDuration(hour.seconds)}`)));
    if (i % 3 === 0) {
      svg.append(s("text", { x: x + bw / 2, y: H - 6, "text-anchor": "middle", class: "axis" },
        String(hour.hour).padStart(2, "0")));
    }
  });
  return svg;
}

// The day as a strip of segments positioned in real time. A day has thousands of segments:
// they are drawn as one path per color, and the tooltip finds the segment under the mouse.
export function timeline(segments, start, end, tz, { testid } = {}) {
  const W = 1000, H = 64, bandH = 36;
  const t0 = Date.parse(start), t1 = Date.parse(end), span = t1 - t0;
  const x = (t) => ((t - t0) / span) * W;
  const fmt = new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit" });
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "timeline", role: "img",
                         "aria-label": "Timeline of the day", "data-testid": testid,
                         "data-segments": segments.length });
  svg.append(s("rect", { x: 0, y: 0, width: W, height: bandH, class: "timeline-bg" }));
  const paths = new Map();
  const starts = segments.map((seg) => Date.parse(seg.timestamp));
  segments.forEach((seg, i) => {
    const w = Math.max((seg.duration * 1000 / span) * W, 0.6);
    const d = `M${x(starts[i]).toFixed(2)} 0h${w.toFixed(2)}v${bandH}h${(-w).toFixed(2)}z`;
    (paths.get(seg.color) || paths.set(seg.color, []).get(seg.color)).push(d);
  });
  for (const [color, parts] of paths) {
    svg.append(s("path", { d: parts.join(""), fill: color, class: "segment" }));
  }
  const tip = s("title");
  svg.append(tip);
  svg.addEventListener("mousemove", (event) => {
    const box = svg.getBoundingClientRect();
    const t = t0 + ((event.clientX - box.left) / box.width) * span;
    let lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {  // the last segment starting at or before t
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    const seg = segments[found];
    tip.textContent = seg && t < starts[found] + seg.duration * 1000
      ? `${fmt.format(starts[found])}–${fmt.format(starts[found] + seg.duration * 1000)} ` +
        `${seg.category} · ${seg.app} · ${fmtDuration(seg.duration)}`
      : fmt.format(t);
  });
  for (let t = t0; t <= t1; t += 3 * 3600 * 1000) {
    svg.append(s("line", { x1: x(t), x2: x(t), y1: bandH, y2: bandH + 6, class: "tick" }));
    const anchor = t === t0 ? "start" : t + 3 * 3600 * 1000 > t1 && x(t) > W - 30 ? "end" : "middle";
    svg.append(s("text", { x: x(t), y: H - 8, "text-anchor": anchor, class: "axis" }, fmt.format(t)));
  }
  return svg;
}

// Stacked columns: one per day (or group), stacked by category [{key, label, parts:{name: s}}].
export function stackedColumns(columns, colors, { testid } = {}) {
  const W = 1000, H = 220, pad = 26;
  const max = Math.max(3600, ...columns.map((c) => Object.values(c.parts).reduce((a, b) => a + b, 0)));
  const bw = (W - pad) / Math.max(columns.length, 1);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "columns", role: "img",
                         "aria-label": "Active time per day by category", "data-testid": testid });
  const every = Math.ceil(columns.length / 16);
  columns.forEach((col, i) => {
    let y = H - pad;
    const x = pad + i * bw;
    const total = Object.values(col.parts).reduce((a, b) => a + b, 0);
    const g = s("g", { "data-key": col.key, "data-seconds": total },
      s("title", null, `${col.label}: ${fmtDuration(total)}`));
    for (const [name, seconds] of Object.entries(col.parts)) {
      const bh = (seconds / max) * (H - pad - 8);
      y -= bh;
      g.append(s("rect", { x: x + 2, y, width: Math.max(bw - 4, 1), height: bh, fill: colors[name] || "#ccc" },
        s("title", null, `${col.label} · ${name}: ${fmtDuration(seconds)}`)));
    }
    svg.append(g);
    if (i % every === 0) {
      svg.append(s("text", { x: x + bw / 2, y: H - 8, "text-anchor": "middle", class: "axis" }, col.short));
    }
  });
  return svg;
}
