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

export function fmtDate(value) {
  if (!value) return "—";
  return String(value).replace("T", " ").replace(/\.\d+(?=[Z+-])/, "");
}

export function fmtNumber(value) {
  return Number(value || 0).toLocaleString("en-US");
}

export function fmtRelative(iso) {
  if (!iso) return "—";
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (!Number.isFinite(seconds)) return fmtDate(iso);
  const abs = Math.abs(seconds);
  const text =
    abs < 90 ? `${abs} s` : abs < 5400 ? `${Math.round(abs / 60)} min` : `${(abs / 3600).toFixed(1)} h`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

export function badge(state) {
  const value = state || "UNKNOWN";
  return h("span", { class: `badge state-${value.toLowerCase()}` }, value);
}

export function tableWrap(caption, head, rows, emptyText) {
  if (!rows.length) return h("p", { class: "empty" }, emptyText);
  return h(
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
