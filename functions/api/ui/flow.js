// A flow's page (#/flows/<namespace>/<id>) and its Source and Executions tabs; the Triggers tab is triggers.js.
import { api } from "./api.js";
import { badge, changes, enc, errorBox, fill, fmtDate, fmtDuration, fmtNumber, h, labelChips, tableWrap } from "./dom.js";
import { poll, setPage } from "./page.js";
import { EXECUTION_STATES, runKind } from "./states.js";
import { triggersTab } from "./triggers.js";

export async function flowPage(namespace, flowId, tab) {
  const flow = await api("GET", `flows/${enc(namespace)}/${enc(flowId)}`);
  const base = `#/flows/${enc(namespace)}/${enc(flowId)}`;
  const tabs = [
    ["source", "Source"],
    ["executions", "Executions"],
    ["triggers", "Triggers"],
  ];
  const tabNav = h(
    "nav",
    { class: "tabs", "aria-label": "Flow sections" },
    h(
      "ul",
      {},
      tabs.map(([key, title]) =>
        h("li", {}, h("a", { href: `${base}/${key}`, "aria-current": key === tab ? "page" : null }, title))
      )
    )
  );
  const panel = h("section", { class: "tab-panel", "aria-label": tabs.find((t) => t[0] === tab)[1] });
  setPage(
    `${flow.namespace}.${flow.id}`,
    h("p", { class: "breadcrumb" }, h("a", { href: `#/?namespace=${enc(flow.namespace)}` }, flow.namespace), " / "),
    h("h1", {}, flow.id),
    h("p", { class: "muted" }, `Revision ${flow.revision} · updated ${fmtDate(flow.updated)}`),
    tabNav,
    panel
  );
  if (tab === "source") {
    panel.append(
      h("h2", {}, "Source"),
      h("pre", { class: "code", tabindex: 0, "aria-label": "Flow YAML (read-only)" }, flow.source || "")
    );
  } else if (tab === "executions") {
    await executionsTab(panel, flow);
  } else {
    await triggersTab(panel, flow);
  }
}

// Filtered by state and by label (key:value), both kept in the address so a filtered page can be shared.
async function executionsTab(panel, flow) {
  const params = new URLSearchParams(window.location.hash.split("?")[1] || "");
  const page = Math.max(1, Number(params.get("page") || 1));
  const state = (params.get("state") || "").trim();
  const label = (params.get("label") || "").trim();
  const size = 25;
  const list = h("div", {});
  const changed = changes();
  const base = `#/flows/${enc(flow.namespace)}/${enc(flow.id)}/executions`;
  const filters = new URLSearchParams();
  if (state) filters.set("state", state);
  if (label) filters.set("label", label);
  const form = h(
    "form",
    {
      class: "inline-form filters",
      role: "search",
      "aria-label": "Filter executions",
      onsubmit: (event) => {
        event.preventDefault();
        const query = new URLSearchParams();
        const wantedState = form.elements.state.value;
        const wantedLabel = form.elements.label.value.trim();
        if (wantedState) query.set("state", wantedState);
        if (wantedLabel) query.set("label", wantedLabel);
        const text = query.toString();
        window.location.hash = text ? `${base}?${text}` : base;
      },
    },
    h(
      "div",
      { class: "field" },
      h("label", { for: "filter-state" }, "State"),
      h(
        "select",
        { id: "filter-state", name: "state" },
        h("option", { value: "" }, "any"),
        EXECUTION_STATES.map((s) => h("option", { value: s, selected: s === state }, s.toLowerCase()))
      )
    ),
    h(
      "div",
      { class: "field" },
      h("label", { for: "filter-label" }, "Label"),
      h("input", { id: "filter-label", name: "label", type: "text", value: label, placeholder: "key:value", "aria-describedby": "hint-filter-label" }),
      h("p", { class: "visually-hidden", id: "hint-filter-label" }, "Written key:value, for example reason:outage")
    ),
    h("button", { type: "submit" }, "Filter"),
    state || label ? h("a", { href: base, class: "button" }, "Clear") : null
  );
  panel.append(h("h2", {}, "Executions"), form, list);
  const query = new URLSearchParams({ namespace: flow.namespace, flowId: flow.id, page: String(page), size: String(size) });
  if (state) query.set("state", state);
  if (label) query.set("labels", label);
  // A slot reads in its trigger's zone, as on the backfill's pages.
  const zones = Object.fromEntries((flow.triggers || []).map((t) => [t.id, t.timezone || "UTC"]));
  const load = async () => {
    let found;
    try {
      found = await api("GET", `executions/search?${query}`);
    } catch (err) {
      if (err.status >= 400 && err.status < 500) {
        fill(list, errorBox(err.message));
        return false; // a filter the API refused: no point asking again
      }
      throw err;
    }
    if (!changed(found)) return true;
    const rows = found.results
      .filter((e) => e.namespace === flow.namespace)
      .map((e) => executionRow(e, zones));
    const pages = Math.max(1, Math.ceil(found.total / size));
    const pageLink = (n) => {
      const q = new URLSearchParams(filters);
      q.set("page", String(n));
      return `${base}?${q}`;
    };
    fill(list,
      tableWrap(
        `Executions of ${flow.id}`,
        ["Execution", "State", "Slot", "Duration", "Started", "Kind", "Labels"],
        rows,
        state || label ? "No execution matches these filters." : "No executions yet."
      ),
      h(
        "nav",
        { class: "pager", "aria-label": "Pages" },
        page > 1 ? h("a", { href: pageLink(page - 1) }, "Previous") : null,
        h("span", {}, `Page ${page} of ${pages} · ${fmtNumber(found.total)} executions`),
        page < pages ? h("a", { href: pageLink(page + 1) }, "Next") : null
      )
    );
    return true;
  };
  await load();
  poll(load, 3000);
}

function executionRow(e, zones) {
  const variables = (e.trigger && e.trigger.variables) || {};
  const zone = (e.trigger && zones[e.trigger.id]) || "UTC";
  return h(
    "tr",
    {},
    h("td", {}, h("a", { href: `#/executions/${enc(e.id)}`, class: "mono", id: `execution-${e.id}` }, e.id)),
    h("td", {}, badge(e.state.current)),
    h("td", {}, fmtDate(variables.date, zone)),
    h("td", {}, fmtDuration(e.state.duration)),
    h("td", {}, fmtDate(e.state.startDate)),
    h("td", {}, runKind(e)),
    h("td", {}, labelChips(e.labels))
  );
}
