// A flow's page (#/flows/<namespace>/<id>) and its Source and Executions tabs; the Triggers tab is triggers.js.
import { api } from "./api.js";
import { badge, changes, enc, fill, fmtDate, fmtNumber, h, labelChips, tableWrap } from "./dom.js";
import { poll, setPage } from "./page.js";
import { runKind } from "./states.js";
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

async function executionsTab(panel, flow) {
  const params = new URLSearchParams(window.location.hash.split("?")[1] || "");
  const page = Math.max(1, Number(params.get("page") || 1));
  const size = 25;
  const list = h("div", {});
  const changed = changes();
  panel.append(h("h2", {}, "Executions"), list);
  const load = async () => {
    const found = await api(
      "GET",
      `executions/search?namespace=${enc(flow.namespace)}&flowId=${enc(flow.id)}&page=${page}&size=${size}`
    );
    if (!changed(found)) return;
    const rows = found.results
      .filter((e) => e.namespace === flow.namespace)
      .map((e) => executionRow(e));
    const pages = Math.max(1, Math.ceil(found.total / size));
    const base = `#/flows/${enc(flow.namespace)}/${enc(flow.id)}/executions`;
    fill(list,
      tableWrap(
        `Executions of ${flow.id}`,
        ["Execution", "Slot", "State", "Kind", "Labels", "Started", "Duration"],
        rows,
        "No executions yet."
      ),
      h(
        "nav",
        { class: "pager", "aria-label": "Pages" },
        page > 1 ? h("a", { href: `${base}?page=${page - 1}` }, "Previous") : null,
        h("span", {}, `Page ${page} of ${pages} · ${fmtNumber(found.total)} executions`),
        page < pages ? h("a", { href: `${base}?page=${page + 1}` }, "Next") : null
      )
    );
  };
  await load();
  poll(load, 3000);
}

function executionRow(e) {
  const variables = (e.trigger && e.trigger.variables) || {};
  return h(
    "tr",
    {},
    h("td", {}, h("a", { href: `#/executions/${enc(e.id)}`, class: "mono", id: `execution-${e.id}` }, e.id)),
    h("td", {}, fmtDate(variables.date)),
    h("td", {}, badge(e.state.current)),
    h("td", {}, runKind(e)),
    h("td", {}, labelChips(e.labels)),
    h("td", {}, fmtDate(e.state.startDate)),
    h("td", {}, e.state.duration || "—")
  );
}
