// A backfill's slots (#/backfills/<id>/details?state=), a page at a time, each with its execution; a FAILED slot with
// why it failed (its execution's last ERROR log line). The state filter is the slots route's own: its pages and
// total are those of the slots in that state.
import { api } from "./api.js";
import { badge, changes, enc, fill, fmtDate, fmtNumber, h, tableWrap } from "./dom.js";
import { poll, setPage } from "./page.js";
import { SLOT_SETTLED, SLOT_STATES } from "./states.js";

const MAX_REASONS = 10; // log reads per refresh: a page of 100 failed slots fills in over a few refreshes

// A failed execution's last ERROR line, once per execution (a failed execution's logs do not change).
async function failureReason(executionId, known) {
  if (known.has(executionId)) return known.get(executionId);
  let reason = null;
  try {
    const lines = await api("GET", `logs/${enc(executionId)}`);
    const errors = lines.filter((line) => String(line.level).toUpperCase() === "ERROR");
    reason = errors.length ? errors[errors.length - 1].message : "";
  } catch {
    return null; // asked again on the next refresh
  }
  known.set(executionId, reason);
  return reason;
}

function reasonCell(slot, known) {
  if (slot.state !== "FAILED") return slot.reason || "";
  const logReason = slot.executionId ? known.get(slot.executionId) : undefined;
  const logs = slot.executionId
    ? h("a", { href: `#/executions/${enc(slot.executionId)}`, class: "small" }, "its logs")
    : null;
  if (slot.reason) return [h("span", { class: "reason" }, slot.reason), " ", logs];
  if (logReason) return [h("span", { class: "reason" }, logReason), " ", logs];
  if (logReason === "") return ["No ERROR line in its logs: see ", logs];
  return slot.executionId ? ["Reading its logs… ", logs] : "";
}

export async function slotsPage(id) {
  const params = new URLSearchParams(window.location.hash.split("?")[1] || "");
  const page = Math.max(1, Number(params.get("page") || 1));
  const state = SLOT_STATES.includes(params.get("state")) ? params.get("state") : "";
  const size = 100;
  const list = h("div", {});
  const base = `#/backfills/${enc(id)}/details`;
  const pageLink = (n) => `${base}?${new URLSearchParams({ ...(state ? { state } : {}), page: String(n) })}`;
  const filter = h(
    "form",
    { class: "inline-form filters", role: "search", "aria-label": "Filter slots" },
    h(
      "div",
      { class: "field" },
      h("label", { for: "filter-slot-state" }, "State"),
      h(
        "select",
        {
          id: "filter-slot-state",
          name: "state",
          onchange: (event) => {
            const chosen = event.target.value;
            window.location.hash = chosen ? `${base}?state=${enc(chosen)}` : base;
          },
        },
        h("option", { value: "" }, "any"),
        SLOT_STATES.map((s) => h("option", { value: s, selected: s === state }, s.toLowerCase()))
      )
    )
  );
  const b = await api("GET", `backfills/${enc(id)}`);
  const changed = changes();
  const reasons = new Map();
  setPage(
    "Backfill slots",
    h("p", { class: "breadcrumb" }, h("a", { href: `#/backfills/${enc(id)}` }, "Backfill progress"), " / "),
    h("h1", {}, `Slots of ${b.flowId}`),
    h("p", { class: "muted" }, `${b.namespace} / ${b.flowId} · ${fmtDate(b.start, b.timezone)} → ${fmtDate(b.end, b.timezone)} · `, badge(b.status)),
    filter,
    list
  );
  const load = async () => {
    const query = new URLSearchParams({ page: String(page), size: String(size), ...(state ? { state } : {}) });
    const found = await api("GET", `backfills/${enc(id)}/slots?${query}`);
    const unread = found.results
      .filter((slot) => slot.state === "FAILED" && !slot.reason && slot.executionId && !reasons.has(slot.executionId))
      .slice(0, MAX_REASONS);
    await Promise.all(unread.map((slot) => failureReason(slot.executionId, reasons)));
    if (!changed([found, [...reasons]])) return true;
    const rows = found.results.map((slot) =>
      h(
        "tr",
        { "data-state": slot.state },
        h("td", {}, fmtDate(slot.date, b.timezone)),
        h("td", {}, badge(slot.state)),
        h("td", {}, slot.executionId ? h("a", { href: `#/executions/${enc(slot.executionId)}`, class: "mono", id: `slot-${slot.executionId}` }, slot.executionId) : "—"),
        h("td", { class: "wrap" }, h("span", {}, reasonCell(slot, reasons)))
      )
    );
    const pages = Math.max(1, Math.ceil(found.total / size));
    const which = state ? ` ${state.toLowerCase()}` : "";
    fill(list,
      tableWrap("Slots", ["Slot", "State", "Execution", "Reason"], rows, state ? `No ${state.toLowerCase()} slots.` : "No slots."),
      h(
        "nav",
        { class: "pager", "aria-label": "Pages" },
        page > 1 ? h("a", { href: pageLink(page - 1) }, "Previous") : null,
        h("span", { id: "slots-total" }, `Page ${page} of ${pages} · ${fmtNumber(found.total)}${which} slots`),
        page < pages ? h("a", { href: pageLink(page + 1) }, "Next") : null
      )
    );
    const reasonsLeft = found.results.some((s) => s.state === "FAILED" && !s.reason && s.executionId && !reasons.has(s.executionId));
    return reasonsLeft || !found.results.every((slot) => SLOT_SETTLED.includes(slot.state));
  };
  if (await load()) poll(load, 2000);
}
