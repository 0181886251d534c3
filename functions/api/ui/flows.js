// The flows page (#/): the flows of each namespace that has triggers, or of the namespace asked for.
import { api } from "./api.js";
import { enc, errorBox, fmtDate, h, tableWrap } from "./dom.js";
import { setPage } from "./page.js";

export async function flowsPage() {
  const params = new URLSearchParams(window.location.hash.split("?")[1] || "");
  const wanted = (params.get("namespace") || "").trim();
  const form = h(
    "form",
    {
      class: "inline-form",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        const value = form.elements.namespace.value.trim();
        window.location.hash = value ? `#/?namespace=${enc(value)}` : "#/";
      },
    },
    h("label", { for: "namespace-filter" }, "Namespace"),
    h("input", { id: "namespace-filter", name: "namespace", type: "text", value: wanted, placeholder: "e.g. dev" }),
    h("button", { type: "submit" }, "Show flows")
  );
  let namespaces;
  if (wanted) {
    namespaces = [wanted];
  } else {
    const triggers = await api("GET", "triggers/search?size=10000");
    namespaces = [...new Set(triggers.results.map((r) => r.triggerContext.namespace))].sort();
  }
  const sections = await Promise.all(
    namespaces.map(async (namespace) => {
      let flows = [];
      try {
        flows = await api("GET", `flows/${enc(namespace)}`);
      } catch (err) {
        return h("section", { class: "card" }, h("h2", {}, namespace), errorBox(err.message));
      }
      const rows = flows.map((flow) =>
        h(
          "tr",
          {},
          h("td", {}, h("a", { href: `#/flows/${enc(flow.namespace)}/${enc(flow.id)}` }, flow.id)),
          h("td", {}, flow.namespace),
          h("td", {}, String((flow.triggers || []).length)),
          h("td", {}, String(flow.revision)),
          h("td", {}, fmtDate(flow.updated))
        )
      );
      return h(
        "section",
        { class: "card", "aria-labelledby": `ns-${namespace}` },
        h("h2", { id: `ns-${namespace}` }, h("span", { class: "muted" }, "Namespace "), namespace),
        tableWrap(
          `Flows in ${namespace}`,
          ["Flow", "Namespace", "Triggers", "Revision", "Updated"],
          rows,
          "No flows in this namespace."
        )
      );
    })
  );
  setPage(
    "Flows",
    h("h1", {}, "Flows"),
    form,
    sections.length ? sections : h("p", { class: "empty" }, "No flows with triggers yet: name a namespace above.")
  );
}
