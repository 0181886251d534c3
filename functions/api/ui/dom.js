// Shared DOM helpers and display formats: element building, refreshes that keep the focus, tables, badges.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "style") el.style.cssText = value; // CSSOM: allowed by the page's CSP, unlike the attribute
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replace an element's children, skipping null/false ones (the native call would print "null"). A live
// refresh must not steal the keyboard focus: the focused element's twin (same id) gets it back.
export function fill(el, ...children) {
  const active = document.activeElement;
  const refocus = active && active !== el && el.contains(active) && active.id ? active.id : null;
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  const twin = refocus && document.getElementById(refocus);
  if (twin) twin.focus({ preventScroll: true });
}

// For pollers: true when the data differs from the last call's, so unchanged pages are left alone.
export function changes() {
  let last = null;
  return (data) => {
    const next = JSON.stringify(data);
    if (next === last) return false;
    last = next;
    return true;
  };
}

export function announce(message) {
  const announcer = document.getElementById("announcer");
  announcer.textContent = "";
  window.setTimeout(() => (announcer.textContent = message), 50);
}

export function enc(value) {
  return encodeURIComponent(value);
}

// A zone's offset from UTC at an instant, in ms (Intl has no direct call for it).
export function zoneOffsetMs(instantMs, timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(instantMs));
  const get = (type) => Number(parts.find((p) => p.type === type).value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

function offsetText(ms) {
  const minutes = Math.round(Math.abs(ms) / 60000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${ms < 0 ? "-" : "+"}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

// The one date format of the UI: the instant as a wall time in `zone`, then the zone, so no date is read in a
// zone it does not name: "2024-03-28 06:30:00 UTC", "2024-03-01 03:00:00 +01:00 Europe/Paris".
export function fmtDate(value, zone) {
  if (!value) return "—";
  const instant = Date.parse(value);
  if (!Number.isFinite(instant)) return String(value);
  const timeZone = zone || "UTC";
  let offset;
  try {
    offset = zoneOffsetMs(instant, timeZone);
  } catch {
    return fmtDate(value, "UTC"); // a zone this browser does not know
  }
  const wall = new Date(Math.floor(instant / 1000) * 1000 + offset).toISOString().slice(0, 19).replace("T", " ");
  return timeZone === "UTC" ? `${wall} UTC` : `${wall} ${offsetText(offset)} ${timeZone}`;
}

// A duration as a person says it: Kestra's ISO 8601 ("PT1.32S", "PT2M5S", "P1DT2H") or seconds.
export function fmtDuration(value) {
  if (value === null || value === undefined || value === "") return "—";
  let seconds = typeof value === "number" ? value : parseDuration(value);
  if (seconds === null || !Number.isFinite(seconds)) return String(value);
  seconds = Math.max(0, seconds);
  if (seconds > 0 && seconds < 0.05) return "<0.1 s";
  if (seconds < 9.95) return `${Math.round(seconds * 10) / 10} s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  const d = Math.floor(whole / 86400);
  const hours = Math.floor((whole % 86400) / 3600);
  const min = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  if (d) return hours ? `${d} d ${hours} h` : `${d} d`;
  if (hours) return min ? `${hours} h ${min} min` : `${hours} h`;
  return s ? `${min} min ${s} s` : `${min} min`;
}

export function parseDuration(text) {
  const m = String(text).match(/^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/);
  if (!m || text === "P" || text.endsWith("T")) return null;
  const total = Number(m[2] || 0) * 86400 + Number(m[3] || 0) * 3600 + Number(m[4] || 0) * 60 + Number(m[5] || 0);
  return m[1] ? -total : total;
}

// A share of a whole as a percent, never rounded up to 100 nor down to 0 while something is left or done.
export function fmtPercent(part, whole) {
  if (!whole) return "100%";
  const exact = (100 * part) / whole;
  if (part > 0 && exact < 0.1) return "<0.1%";
  if (part < whole && exact > 99.9) return ">99.9%";
  return `${Math.round(exact * 10) / 10}%`;
}

// What a backfill's slots came to: how many ran (succeeded or failed), were skipped by its reprocess policy,
// and its status, so a backfill cancelled early never reads as done: "39 of 46,963 ran, cancelled".
export function backfillOutcome(b) {
  const counts = b.counts || {};
  const total = b.total || 0;
  const failed = counts.FAILED || 0;
  const ran = (counts.SUCCEEDED || 0) + failed;
  const skipped = counts.SKIPPED || 0;
  const done = ran + skipped;
  const parts = [`${fmtNumber(ran)} of ${fmtNumber(total)} ran`];
  if (failed) parts[0] += ` (${fmtNumber(failed)} failed)`;
  if (skipped) parts.push(`${fmtNumber(skipped)} skipped`);
  parts.push(String(b.status || "").toLowerCase());
  return {
    ran,
    done,
    total,
    percent: total ? Math.round((1000 * done) / total) / 10 : 100,
    percentText: fmtPercent(done, total),
    text: parts.join(", "),
  };
}

// The lists' small bar: the slots that ran or were skipped, and those cancelled, out of the total.
export function miniBar(b) {
  const counts = b.counts || {};
  const total = b.total || 0;
  const outcome = backfillOutcome(b);
  const bar = h("span", { class: "mini-bar", "aria-hidden": "true" });
  for (const state of ["SUCCEEDED", "FAILED", "SKIPPED", "RUNNING", "CANCELLED"]) {
    const n = counts[state] || 0;
    if (n && total) bar.append(h("span", { class: `seg seg-${state.toLowerCase()}`, style: `width:${(100 * n) / total}%` }));
  }
  return h(
    "span",
    { class: "done-cell", title: outcome.text },
    bar,
    h("span", { class: "done-text" }, `${fmtNumber(outcome.done)} / ${fmtNumber(total)}`)
  );
}

export function fmtNumber(value) {
  return Number(value || 0).toLocaleString("en-US");
}

export function fmtRelative(iso) {
  if (!iso) return "—";
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (!Number.isFinite(seconds)) return fmtDate(iso);
  const text = fmtDuration(Math.abs(seconds));
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

export function badge(state) {
  const value = state || "UNKNOWN";
  return h("span", { class: `badge state-${value.toLowerCase()}` }, value);
}

// A table that scrolls sideways inside its box when wider than the page, with a cue saying so; on a phone
// (style.css) each row becomes a card whose cells carry their column's name (data-label).
export function tableWrap(caption, head, rows, emptyText) {
  if (!rows.length) return h("p", { class: "empty" }, emptyText);
  for (const row of rows) {
    [...row.children].forEach((cell, i) => {
      if (head[i]) cell.dataset.label = head[i];
    });
  }
  const hint = h("p", { class: "scroll-hint muted small", hidden: true }, "Scroll sideways for more columns →");
  const wrap = h(
    "div",
    { class: "table-wrap", tabindex: 0, role: "region", "aria-label": caption },
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, head.map((title) => h("th", { scope: "col" }, title)))),
      h("tbody", {}, rows)
    )
  );
  const check = () => {
    const overflows = wrap.scrollWidth > wrap.clientWidth + 1;
    const atEnd = wrap.scrollLeft + wrap.clientWidth >= wrap.scrollWidth - 1;
    wrap.classList.toggle("overflows", overflows && !atEnd);
    hint.hidden = !overflows;
  };
  if (window.ResizeObserver) new ResizeObserver(check).observe(wrap);
  wrap.addEventListener("scroll", check, { passive: true });
  return h("div", { class: "table-box" }, hint, wrap);
}

export function dl(entries, emptyText) {
  const items = Object.entries(entries || {});
  if (!items.length) return h("p", { class: "empty" }, emptyText);
  return h(
    "dl",
    { class: "pairs" },
    items.map(([key, value]) => [
      h("dt", {}, key),
      h("dd", {}, typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)),
    ])
  );
}

export function labelChips(labels) {
  if (!labels || !labels.length) return h("span", { class: "empty" }, "none");
  return h(
    "ul",
    { class: "chips", "aria-label": "Labels" },
    labels.map((l) => h("li", { class: "chip" }, `${l.key}=${l.value}`))
  );
}

export function errorBox(message) {
  return h("p", { class: "error-box", role: "alert" }, message);
}
