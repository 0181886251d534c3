// The backfills page (#/backfills), and the backfills table a flow's Triggers tab shows too.
import { api } from "./api.js";
import { badge, changes, enc, fill, fmtDate, h, labelChips, tableWrap } from "./dom.js";
import { poll, setPage } from "./page.js";

export function backfillTable(backfills, withFlow) {
  const rows = backfills.map((b) =>
    h(
      "tr",
      {},
      h("td", {}, h("a", { href: `#/backfills/${enc(b.id)}`, class: "mono", id: `backfill-link-${b.id}` }, b.id)),
      withFlow ? h("td", {}, `${b.namespace}.${b.flowId}`) : null,
      h("td", {}, b.triggerId),
      h("td", {}, `${fmtDate(b.start)} → ${fmtDate(b.end)}`),
      h("td", {}, badge(b.status)),
      h("td", {}, `${b.percent}%`),
      h("td", {}, labelChips(b.labels)),
      h("td", {}, fmtDate(b.created))
    )
  );
  const head = ["Backfill", withFlow ? "Flow" : null, "Trigger", "Window", "Status", "Done", "Labels", "Created"].filter(Boolean);
  return tableWrap("Backfills", head, rows, "No backfills yet.");
}

export async function backfillsPage() {
  const list = h("div", {});
  const changed = changes();
  setPage("Backfills", h("h1", {}, "Backfills"), list);
  const load = async () => {
    const found = await api("GET", "backfills?size=100");
    if (changed(found)) fill(list, backfillTable(found.results, true));
  };
  await load();
  poll(load, 3000);
}
