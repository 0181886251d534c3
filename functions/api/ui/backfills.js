// The backfills page (#/backfills), filtered by status, namespace and flow, and the backfills table a flow's
// Triggers tab shows too.
import { api } from "./api.js";
import { badge, changes, enc, fill, fmtDate, h, labelChips, miniBar, tableWrap } from "./dom.js";
import { poll, setPage } from "./page.js";
import { BACKFILL_STATUSES } from "./states.js";

// Key columns first (which backfill, its flow, status and progress); the rest scroll sideways on a narrow page.
export function backfillTable(backfills, withFlow) {
  const rows = backfills.map((b) =>
    h(
      "tr",
      {},
      h("td", {}, h("a", { href: `#/backfills/${enc(b.id)}`, class: "mono", id: `backfill-link-${b.id}` }, b.id)),
      withFlow ? h("td", {}, `${b.namespace}.${b.flowId}`) : null,
      h("td", {}, badge(b.status)),
      h("td", {}, miniBar(b)),
      h("td", {}, `${fmtDate(b.start, b.timezone)} → ${fmtDate(b.end, b.timezone)}`),
      h("td", {}, b.triggerId),
      h("td", {}, labelChips(b.labels)),
      h("td", {}, fmtDate(b.created))
    )
  );
  const head = ["Backfill", withFlow ? "Flow" : null, "Status", "Done", "Window", "Trigger", "Labels", "Created"].filter(Boolean);
  return tableWrap("Backfills", head, rows, "No backfills yet.");
}

const FILTERS = ["status", "namespace", "flowId"];

export async function backfillsPage() {
  const params = new URLSearchParams(window.location.hash.split("?")[1] || "");
  const wanted = Object.fromEntries(FILTERS.map((name) => [name, (params.get(name) || "").trim()]));
  const list = h("div", {});
  const changed = changes();
  const form = h(
    "form",
    {
      class: "inline-form filters",
      role: "search",
      "aria-label": "Filter backfills",
      onsubmit: (event) => {
        event.preventDefault();
        const query = new URLSearchParams();
        for (const name of FILTERS) {
          const value = form.elements[name].value.trim();
          if (value) query.set(name, value);
        }
        const text = query.toString();
        window.location.hash = text ? `#/backfills?${text}` : "#/backfills";
      },
    },
    h(
      "div",
      { class: "field" },
      h("label", { for: "filter-status" }, "Status"),
      h(
        "select",
        { id: "filter-status", name: "status" },
        h("option", { value: "" }, "any"),
        BACKFILL_STATUSES.map((s) => h("option", { value: s, selected: s === wanted.status }, s.toLowerCase()))
      )
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "filter-namespace" }, "Namespace"),
      h("input", { id: "filter-namespace", name: "namespace", type: "text", value: wanted.namespace, placeholder: "e.g. dev" })
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "filter-flow" }, "Flow"),
      h("input", { id: "filter-flow", name: "flowId", type: "text", value: wanted.flowId, placeholder: "flow id" })
    ),
    h("button", { type: "submit" }, "Filter"),
    FILTERS.some((name) => wanted[name]) ? h("a", { href: "#/backfills", class: "button" }, "Clear") : null
  );
  const query = new URLSearchParams({ size: "100" });
  for (const name of FILTERS) if (wanted[name]) query.set(name, wanted[name]);
  const filtered = FILTERS.some((name) => wanted[name]);
  setPage("Backfills", h("h1", {}, "Backfills"), form, list);
  const load = async () => {
    const found = await api("GET", `backfills?${query}`);
    if (changed(found))
      fill(list, found.results.length || !filtered ? backfillTable(found.results, true) : h("p", { class: "empty" }, "No backfill matches these filters."));
  };
  await load();
  poll(load, 3000);
}
