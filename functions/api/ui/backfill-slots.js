// A backfill's slots (#/backfills/<id>/details), a page at a time, each with its execution.
import { api } from "./api.js";
import { badge, changes, enc, fill, fmtDate, fmtNumber, h, tableWrap } from "./dom.js";
import { poll, setPage } from "./page.js";
import { SLOT_SETTLED } from "./states.js";

export async function slotsPage(id) {
  const params = new URLSearchParams(window.location.hash.split("?")[1] || "");
  const page = Math.max(1, Number(params.get("page") || 1));
  const size = 100;
  const list = h("div", {});
  const b = await api("GET", `backfills/${enc(id)}`);
  const changed = changes();
  setPage(
    "Backfill slots",
    h("p", { class: "breadcrumb" }, h("a", { href: `#/backfills/${enc(id)}` }, "Backfill progress"), " / "),
    h("h1", {}, `Slots of ${b.flowId}`),
    h("p", { class: "muted" }, `${b.namespace} / ${b.flowId} · ${fmtDate(b.start)} → ${fmtDate(b.end)} · `, badge(b.status)),
    list
  );
  const load = async () => {
    const found = await api("GET", `backfills/${enc(id)}/slots?page=${page}&size=${size}`);
    if (!changed(found)) return true;
    const rows = found.results.map((slot) =>
      h(
        "tr",
        {},
        h("td", {}, fmtDate(slot.date)),
        h("td", {}, badge(slot.state)),
        h("td", {}, slot.executionId ? h("a", { href: `#/executions/${enc(slot.executionId)}`, class: "mono", id: `slot-${slot.executionId}` }, slot.executionId) : "—"),
        h("td", {}, slot.reason || "")
      )
    );
    const pages = Math.max(1, Math.ceil(found.total / size));
    const base = `#/backfills/${enc(id)}/details`;
    fill(list,
      tableWrap("Slots", ["Slot", "State", "Execution", "Reason"], rows, "No slots."),
      h(
        "nav",
        { class: "pager", "aria-label": "Pages" },
        page > 1 ? h("a", { href: `${base}?page=${page - 1}` }, "Previous") : null,
        h("span", {}, `Page ${page} of ${pages} · ${fmtNumber(found.total)} slots`),
        page < pages ? h("a", { href: `${base}?page=${page + 1}` }, "Next") : null
      )
    );
    return !found.results.every((slot) => SLOT_SETTLED.includes(slot.state));
  };
  if (await load()) poll(load, 2000);
}
