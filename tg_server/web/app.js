// The TimelyGator dashboard: day, week and month views, the category editor and settings.
// Routes live in the URL hash: #/day/2024-05-06, #/week/..., #/month/..., #/categories,
// #/settings. Every number comes from the reports API; nothing is computed twice here.

import { api, apiUrl, ApiError } from "./api.js";
import { barList, donut, fmtDuration, h, hourChart, stackedColumns, timeline } from "./charts.js";

const main = document.getElementById("main");
const banner = document.getElementById("banner");
const dateInput = document.getElementById("date-input");
const hostSelect = document.getElementById("host-select");
const state = { host: localStorage.getItem("tg.host") || "", startOfDay: "04:00", render: 0 };

// ---- dates (plain YYYY-MM-DD strings, computed in UTC so DST never shifts them) ----------

const toDate = (str) => new Date(`${str}T00:00:00Z`);
const iso = (d) => d.toISOString().slice(0, 10);
function addDays(str, n) { const d = toDate(str); d.setUTCDate(d.getUTCDate() + n); return iso(d); }
function addMonths(str, n) {
  const d = toDate(str);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + n);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return iso(d);
}
function weekBounds(str) {
  const monday = addDays(str, -((toDate(str).getUTCDay() + 6) % 7));
  return [monday, addDays(monday, 6)];
}
function monthBounds(str) {
  const first = `${str.slice(0, 8)}01`;
  return [first, addDays(addMonths(first, 1), -1)];
}
function today() {
  // The report day running now: before the start of day it is still yesterday.
  const [hh, mm] = state.startOfDay.split(":").map(Number);
  const now = new Date(Date.now() - (hh * 60 + mm) * 60000);
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
}
const longDate = (str) => toDate(str).toLocaleDateString(undefined,
  { weekday: "long", year: "numeric", month: "long", day: "numeric", timeZone: "UTC" });
const shortDate = (str) => toDate(str).toLocaleDateString(undefined,
  { month: "short", day: "numeric", timeZone: "UTC" });

// ---- routing ----------------------------------------------------------------------------

function route() {
  const [, view = "day", date = ""] = location.hash.replace(/^#\/?/, "/").split("/");
  return { view, date: /^\d{4}-\d{2}-\d{2}$/.test(date) ? date : "" };
}

function go(view, date) { location.hash = date ? `#/${view}/${date}` : `#/${view}`; }

const STEP = { day: (d, n) => addDays(d, n), week: (d, n) => addDays(d, 7 * n),
               month: (d, n) => addMonths(d, n) };

document.getElementById("prev").addEventListener("click", () => {
  const { view, date } = route();
  go(view, STEP[view](date || today(), -1));
});
document.getElementById("next").addEventListener("click", () => {
  const { view, date } = route();
  go(view, STEP[view](date || today(), 1));
});
document.getElementById("today").addEventListener("click", () => go(route().view, today()));
dateInput.addEventListener("change", () => { if (dateInput.value) go(route().view, dateInput.value); });
hostSelect.addEventListener("change", () => {
  state.host = hostSelect.value;
  localStorage.setItem("tg.host", state.host);
  render();
});
window.addEventListener("hashchange", render);
document.addEventListener("keydown", (event) => {
  // Arrow keys page through days, weeks or months, unless the user is typing.
  if (event.altKey || event.ctrlKey || event.metaKey || /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName)) return;
  const { view } = route();
  if (!STEP[view]) return;
  if (event.key === "ArrowLeft") document.getElementById("prev").click();
  if (event.key === "ArrowRight") document.getElementById("next").click();
});

function showBanner(message) {
  banner.textContent = message || "";
  banner.hidden = !message;
}

function setHosts(hosts, current) {
  hostSelect.replaceChildren(...hosts.map((name) => h("option", { value: name, text: name })));
  hostSelect.value = current;
  hostSelect.hidden = hosts.length < 2;
}

// Renders into `main` unless a newer render started meanwhile (fast date clicking).
async function render() {
  const ticket = ++state.render;
  const hash = location.hash;
  const { view, date } = route();
  for (const a of document.querySelectorAll("nav.views a")) {
    a.classList.toggle("active", a.dataset.view === view);
    // Switching between day, week and month keeps the date in view.
    if (["day", "week", "month"].includes(a.dataset.view)) {
      a.href = date ? `#/${a.dataset.view}/${date}` : `#/${a.dataset.view}`;
    }
  }
  const dated = ["day", "week", "month"].includes(view);
  document.getElementById("datenav").classList.toggle("hidden", !dated);
  if (date || !dated || view !== "day") dateInput.value = date || today();
  if (dated) state.date = date || "";
  main.dataset.state = "loading";
  main.dataset.view = view;
  main.setAttribute("aria-busy", "true");
  showBanner("");
  const loading = setTimeout(() => {
    if (ticket === state.render) main.replaceChildren(h("p", { className: "loading" }, "Loading…"));
  }, 120);
  try {
    const views = { day: dayView, week: rangeView, month: rangeView, categories: categoriesView,
                    settings: settingsView };
    // The day view without a date asks the server for today (it knows the start of day).
    const content = await (views[view] || dayView)(view === "day" ? date : date || today(), view);
    if (ticket !== state.render) return;
    main.replaceChildren(content);
    main.dataset.route = hash;  // which route is on screen (tests and the benchmark wait on it)
    main.dataset.state = "ready";
    // For the benchmark: in the DOM now, and on screen after the next frame.
    window.__tgRendered = performance.now();
    requestAnimationFrame(() => setTimeout(() => { window.__tgPainted = performance.now(); }));
  } catch (err) {
    if (ticket !== state.render) return;
    main.replaceChildren(errorState(err));
    main.dataset.route = hash;
    main.dataset.state = "error";
  } finally {
    clearTimeout(loading);
    if (ticket === state.render) main.removeAttribute("aria-busy");
  }
}

function errorState(err) {
  const message = err instanceof ApiError ? err.message : `Something went wrong: ${err.message}`;
  return h("div", { className: "error-state", dataset: { testid: "error" } },
    h("h2", null, "Could not load this view"), h("p", null, message),
    h("button", { type: "button", on: { click: render } }, "Try again"));
}

const card = (title, testid, seconds, text) =>
  h("div", { className: "card", dataset: { testid, seconds } },
    h("div", { className: "card-title" }, title), h("div", { className: "card-value" }, text));

const panel = (title, ...children) =>
  h("section", { className: "panel" }, h("h2", null, title), ...children);

// ---- day --------------------------------------------------------------------------------

function flatten(node, depth = 0, out = []) {
  for (const child of node.children) {
    out.push({ ...child, depth });
    flatten(child, depth + 1, out);
  }
  return out;
}

async function dayView(date) {
  const query = { date, host: state.host };
  let rep;
  try {
    rep = await api("reports/day", { query });
  } catch (err) {
    if (err.code === "unknown_host" && state.host) {  // a remembered host that is gone
      state.host = "";
      localStorage.removeItem("tg.host");
      rep = await api("reports/day", { query: { date } });
    } else throw err;
  }
  setHosts(rep.hosts, rep.host);
  dateInput.value = rep.date;
  state.date = rep.date;
  const top = rep.categories.children;
  const content = h("div", { className: "day", dataset: { date: rep.date } },
    h("div", { className: "heading" },
      h("h1", null, longDate(rep.date)),
      h("p", { className: "muted" },
        `${rep.start_of_day} to ${rep.start_of_day} · ${rep.tz}` +
        (rep.day_hours !== 24 ? ` · ${rep.day_hours}-hour day (clock change)` : "") +
        (rep.host ? ` · ${rep.host}` : "")),
      h("div", { className: "exports" },
        h("a", { href: apiUrl("reports/day", { ...query, host: rep.host, format: "csv" }), download: "" }, "CSV"),
        h("a", { href: apiUrl("reports/day", { ...query, host: rep.host, format: "json" }), download: "" }, "JSON"))),
    h("div", { className: "cards" },
      card("Active", "active-seconds", rep.active_seconds, fmtDuration(rep.active_seconds)),
      card("Away (AFK)", "afk-seconds", rep.afk_seconds, fmtDuration(rep.afk_seconds)),
      card("In the browser", "browser-seconds", rep.browser_seconds, fmtDuration(rep.browser_seconds)),
      h("div", { className: "card", dataset: { testid: "productivity", value: rep.productivity } },
        h("div", { className: "card-title" }, "Productivity"),
        h("div", { className: "card-value" }, (rep.productivity > 0 ? "+" : "") + rep.productivity.toFixed(2)),
        h("div", { className: "card-sub" },
          `${fmtDuration(rep.productivity_breakdown.productive_seconds)} productive · ` +
          `${fmtDuration(rep.productivity_breakdown.distracting_seconds)} distracting`))));
  if (!rep.active_seconds) {
    content.append(h("div", { className: "empty-state", dataset: { testid: "empty" } },
      h("h2", null, "No activity recorded for this day"),
      h("p", null, "Time shows up here once the window watcher has reported activity " +
        "(and you were not away). Try another day with the arrows above.")));
    return content;
  }
  content.append(
    panel("Timeline", timeline(rep.timeline, rep.start, rep.end, rep.tz, { testid: "timeline" })),
    panel("Hour by hour", hourChart(rep.hours, { testid: "hours" })),
    h("div", { className: "grid" },
      panel("Categories",
        h("div", { className: "cat-chart" },
          donut(top.map((c) => ({ label: c.full_name, seconds: c.seconds, color: c.color })),
            { testid: "category-donut" }),
          h("ol", { className: "cat-tree", dataset: { testid: "categories" } },
            flatten(rep.categories).map((c) =>
              h("li", { style: `--depth:${c.depth}`, dataset: { name: c.full_name, seconds: c.seconds } },
                h("span", { className: "swatch", style: `background:${c.color}` }),
                h("span", { className: "label" }, c.name),
                h("span", { className: "value" }, fmtDuration(c.seconds))))))),
      panel("Top apps", barList(rep.apps.map((a) => ({ label: a.app || "(unknown)", seconds: a.seconds })),
        { testid: "apps" })),
      panel("Top sites", barList(rep.domains.map((d) => ({ label: d.domain || "(none)", seconds: d.seconds })),
        { testid: "domains", empty: "No browser time: no browser window was active, or no browser extension is reporting." })),
      panel("Top window titles", barList(rep.titles.map((t) => ({
        label: t.title || "(no title)", sub: t.app, seconds: t.seconds })), { testid: "titles" })),
      panel("Top pages", barList(rep.pages.map((p) => ({
        label: p.title || p.url, sub: p.url, title: p.url, seconds: p.seconds })), { testid: "pages",
        empty: "No pages while a browser window was active." }))));
  return content;
}

// ---- week and month ---------------------------------------------------------------------

async function rangeView(date, view) {
  const [start, end] = view === "week" ? weekBounds(date) : monthBounds(date);
  const rep = await api("reports/range", { query: { start, end, group: "day", host: state.host } });
  setHosts(rep.hosts, rep.host);
  const colors = {};
  for (const c of rep.categories) colors[c.full_name] = c.color;
  const topLevel = rep.categories.filter((c) => !c.full_name.includes(" > "));
  const columns = rep.days.map((d) => ({
    key: d.date, label: longDate(d.date),
    short: view === "week" ? toDate(d.date).toLocaleDateString(undefined, { weekday: "short", timeZone: "UTC" })
                           : String(Number(d.date.slice(8))),
    parts: Object.fromEntries(topLevel.map((c) => [c.full_name, d.categories[c.full_name] || 0])
                                .filter(([, v]) => v > 0)),
  }));
  const title = view === "week" ? `Week of ${shortDate(start)} – ${shortDate(end)}`
    : toDate(start).toLocaleDateString(undefined, { month: "long", year: "numeric", timeZone: "UTC" });
  const active = rep.days.filter((d) => d.active_seconds > 0);
  const content = h("div", { className: "range", dataset: { start, end } },
    h("div", { className: "heading" }, h("h1", null, title),
      h("div", { className: "exports" },
        h("a", { href: apiUrl("reports/range", { start, end, group: "day", host: state.host, format: "csv" }), download: "" }, "CSV"),
        h("a", { href: apiUrl("reports/range", { start, end, group: "day", host: state.host, format: "json" }), download: "" }, "JSON"))),
    h("div", { className: "cards" },
      card("Active", "range-active-seconds", rep.active_seconds, fmtDuration(rep.active_seconds)),
      card("Daily average", "range-average", active.length ? rep.active_seconds / active.length : 0,
        fmtDuration(active.length ? rep.active_seconds / active.length : 0)),
      card("Away (AFK)", "range-afk-seconds", rep.afk_seconds, fmtDuration(rep.afk_seconds))));
  if (!rep.active_seconds) {
    content.append(h("div", { className: "empty-state", dataset: { testid: "empty" } },
      h("h2", null, `No activity recorded this ${view}`)));
    return content;
  }
  content.append(
    panel("Per day", stackedColumns(columns, colors, { testid: "days" }),
      h("p", { className: "legend" }, topLevel.map((c) =>
        h("span", null, h("span", { className: "swatch", style: `background:${c.color}` }), c.full_name)))),
    h("div", { className: "grid" },
      panel("Categories", barList(rep.categories.map((c) => ({
        label: c.full_name, seconds: c.seconds, color: c.color })), { testid: "range-categories", limit: 30 })),
      panel("Days", barList(rep.days.filter((d) => d.active_seconds > 0).map((d) => ({
        label: longDate(d.date), seconds: d.active_seconds })), { testid: "range-days", limit: 31 }))));
  return content;
}

// ---- category editor --------------------------------------------------------------------

let previewTimer = 0;
const PALETTE = ["#5c6bc0", "#00897b", "#f4511e", "#8e24aa", "#fdd835", "#6d4c41", "#00acc1", "#7cb342"];

async function categoriesView() {
  const { categories, default: isDefault } = await api("categories");
  const date = state.date || today();  // preview the day last looked at
  const when = date === today() ? "today" : `on ${shortDate(date)}`;
  const rows = h("tbody");
  const message = h("p", { className: "form-message", role: "status", dataset: { testid: "cat-message" } });
  const matches = h("div", { dataset: { testid: "rule-matches" } },
    h("p", { className: "muted" }, `Click a rule to see what it matches ${when}.`));
  const uncategorized = h("div", { dataset: { testid: "uncategorized" } });

  function collect() {
    return [...rows.children].map((tr) => {
      const f = (name) => tr.querySelector(`[name=${name}]`);
      const regex = f("regex").value.trim();
      const score = f("score").value.trim();
      const data = { ...JSON.parse(tr.dataset.extra || "{}"), color: f("color").value };
      if (score !== "") data.score = Number(score);
      else delete data.score;
      return {
        ...(tr.dataset.id ? { id: Number(tr.dataset.id) } : {}),
        name: f("name").value.split(">").map((p) => p.trim()),
        rule: regex ? { ...JSON.parse(tr.dataset.rule || "{}"), type: "regex", regex,
                        ignore_case: f("ignore_case").checked } : { type: null },
        data,
      };
    });
  }

  let selected = null;  // the row whose rule the live preview shows
  async function refreshUncategorized() {
    try {
      const res = await api("categories/preview", { method: "POST", body: { date, categories: collect(), host: state.host || undefined } });
      const list = barList(res.uncategorized.map((u) => ({
        label: u.title || "(no title)", sub: [u.app, u.url].filter(Boolean).join(" · "), seconds: u.seconds,
        title: "Click to add this app to the selected rule" })),
        { empty: `Everything ${when} has a category.`, limit: 20 });
      list.querySelectorAll("li").forEach((li, i) => li.addEventListener("click", () => {
        const app = res.uncategorized[i].app;
        if (!selected || !app) return;
        const input = selected.querySelector("[name=regex]");
        const exact = `^${app.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
        input.value = input.value ? `${input.value}|${exact}` : exact;
        previewRule(selected);
      }));
      uncategorized.replaceChildren(h("p", { className: "muted" }, "Click an entry to add its app to the selected rule."), list);
    } catch (err) {
      uncategorized.replaceChildren(h("p", { className: "error" }, err.message));
    }
  }

  function previewRule(tr) {
    selected = tr;
    clearTimeout(previewTimer);
    previewTimer = setTimeout(async () => {
      const regex = tr.querySelector("[name=regex]").value.trim();
      if (!regex) {
        matches.replaceChildren(h("p", { className: "muted" }, "This category has no rule."));
        return;
      }
      const rule = { type: "regex", regex, ignore_case: tr.querySelector("[name=ignore_case]").checked };
      try {
        const res = await api("categories/preview", { method: "POST", body: { date, rule, host: state.host || undefined } });
        matches.replaceChildren(
          h("p", { className: "muted" }, `“${tr.querySelector("[name=name]").value}” matches ${when}:`),
          barList(res.matches.map((m) => ({ label: m.title || "(no title)",
            sub: [m.app, m.url].filter(Boolean).join(" · "), seconds: m.seconds })),
            { empty: `Nothing ${when} matches this rule.`, limit: 20 }));
      } catch (err) {
        matches.replaceChildren(h("p", { className: "error" }, err.message));
      }
    }, 250);
  }

  function row(cat) {
    const rule = cat.rule || {};
    const { color, score, ...extra } = cat.data || {};
    const { type, regex, ignore_case: ic, ...ruleExtra } = rule;
    const tr = h("tr", { dataset: { id: cat.id ?? "", rule: JSON.stringify(ruleExtra), extra: JSON.stringify(extra) } },
      h("td", null, h("input", { type: "color", name: "color", value: color || "#cccccc", "aria-label": "Color" })),
      h("td", null, h("input", { type: "text", name: "name", value: (cat.name || []).join(" > "),
        "aria-label": "Name", placeholder: "Work > Programming", required: true })),
      h("td", null, h("input", { type: "text", name: "regex", value: regex || "", className: "mono",
        "aria-label": "Rule (regular expression)", placeholder: "no rule", spellcheck: false })),
      h("td", { className: "center" }, h("input", { type: "checkbox", name: "ignore_case",
        checked: ic !== false, "aria-label": "Ignore case", title: "Ignore case" })),
      h("td", null, h("input", { type: "number", name: "score", value: score ?? "", step: "0.5",
        "aria-label": "Productivity score", className: "score" })),
      h("td", null, h("button", { type: "button", className: "link danger", "aria-label": "Delete",
        on: { click: () => { tr.remove(); refreshUncategorized(); } } }, "✕")));
    tr.addEventListener("input", () => previewRule(tr));
    tr.addEventListener("focusin", () => previewRule(tr));
    return tr;
  }
  rows.append(...categories.map(row));

  async function save() {
    try {
      await api("categories", { method: "PUT", body: { categories: collect() } });
      message.textContent = "Saved. Reports use the new rules for every day, past ones included.";
      message.className = "form-message ok";
      refreshUncategorized();
    } catch (err) {
      message.textContent = err.message;
      message.className = "form-message error";
    }
  }
  async function reset() {
    if (!confirm("Replace all categories with the default set?")) return;
    await api("categories", { method: "DELETE" });
    render();
  }
  const fileInput = h("input", { type: "file", accept: ".json,application/json", hidden: true,
    on: { change: async () => {
      const file = fileInput.files[0];
      if (!file) return;
      try {
        const body = JSON.parse(await file.text());
        await api("categories/import", { method: "POST", body });
        render();
      } catch (err) {
        message.textContent = err instanceof ApiError ? err.message : `Not a categories file: ${err.message}`;
        message.className = "form-message error";
      }
    } } });

  refreshUncategorized();
  return h("div", { className: "categories" },
    h("div", { className: "heading" }, h("h1", null, "Categories"),
      h("p", { className: "muted" }, isDefault ? "The default set. Edit it to make it yours." :
        "Rules are regular expressions over the app, window title, URL and domain; the deepest match wins.")),
    h("div", { className: "grid wide-left" },
      h("section", { className: "panel" },
        h("table", { className: "cat-table", dataset: { testid: "cat-table" } },
          h("thead", null, h("tr", null, ["", "Name", "Rule (regex)", "Aa", "Score", ""].map((t) => h("th", null, t)))),
          rows),
        h("div", { className: "actions" },
          h("button", { type: "button", on: { click: () => { const tr = row({ name: ["New category"], rule: { type: null },
            data: { color: PALETTE[rows.children.length % PALETTE.length] } });
            rows.append(tr); tr.querySelector("[name=name]").select(); } } }, "Add category"),
          h("button", { type: "button", className: "primary", dataset: { testid: "save-categories" }, on: { click: save } }, "Save"),
          h("button", { type: "button", on: { click: render } }, "Discard changes"),
          h("span", { className: "spacer" }),
          h("a", { href: apiUrl("categories/export"), download: "timelygator-categories.json", className: "button" }, "Export"),
          h("button", { type: "button", on: { click: () => fileInput.click() } }, "Import…"), fileInput,
          h("button", { type: "button", className: "danger", on: { click: reset } }, "Reset to defaults")),
        message),
      h("div", null,
        panel("Live preview", matches),
        panel(`Still uncategorized ${when}`, uncategorized))));
}

// ---- settings ---------------------------------------------------------------------------

async function settingsView() {
  const [sod, afk, exclusions] = await Promise.all(
    ["start_of_day", "afk_timeout", "exclusions"].map((key) => api(`settings/${key}`)));
  const message = h("p", { className: "form-message", role: "status", dataset: { testid: "settings-message" } });
  const form = h("form", { className: "settings-form" },
    h("label", null, "Start of day",
      h("input", { type: "time", name: "start_of_day", value: sod || "04:00", required: true }),
      h("small", null, "A day runs from this time to the same time the next day.")),
    h("label", null, "AFK timeout (seconds)",
      h("input", { type: "number", name: "afk_timeout", min: 10, max: 86400, value: afk ?? 180, required: true }),
      h("small", null, "Without keyboard or mouse input for this long, you count as away.")),
    h("label", null, "Exclusions",
      h("textarea", { name: "exclusions", rows: 5, className: "mono", value: (exclusions || []).join("\n"),
        placeholder: "one regular expression per line, e.g. keepassxc" }),
      h("small", null, "Windows whose app or title matches are not recorded.")),
    h("div", { className: "actions" }, h("button", { type: "submit", className: "primary" }, "Save settings")),
    message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const values = {
      start_of_day: data.get("start_of_day"),
      afk_timeout: Number(data.get("afk_timeout")),
      exclusions: data.get("exclusions").split("\n").map((x) => x.trim()).filter(Boolean),
    };
    for (const pattern of values.exclusions) {
      try { new RegExp(pattern); } catch (err) {
        message.textContent = `Not a valid regular expression: ${pattern}`;
        message.className = "form-message error";
        return;
      }
    }
    try {
      for (const [key, value] of Object.entries(values)) {
        await api(`settings/${key}`, { method: "POST", body: value });
      }
      state.startOfDay = values.start_of_day;
      message.textContent = "Saved.";
      message.className = "form-message ok";
    } catch (err) {
      message.textContent = err.message;
      message.className = "form-message error";
    }
  });
  return h("div", { className: "settings" }, h("div", { className: "heading" }, h("h1", null, "Settings")),
    h("section", { className: "panel" }, form));
}

// ---- start ------------------------------------------------------------------------------

async function start() {
  const settings = api("settings/start_of_day").then((sod) => {
    if (typeof sod === "string" && /^\d{1,2}:\d{2}$/.test(sod)) state.startOfDay = sod;
  }).catch(() => {});  // rendering shows errors such as "not signed in" in the view itself
  // The day view needs no setting to start: the server picks today. Others wait for it.
  if (route().view !== "day") await settings;
  render();
}

start();
