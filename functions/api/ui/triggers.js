// A flow's Triggers tab: each trigger's schedule, on/off switch and Backfill button, then the flow's backfills.
import { api } from "./api.js";
import { backfillTable } from "./backfills.js";
import { announce, backfillOutcome, changes, enc, fill, fmtDate, h } from "./dom.js";
import { poll } from "./page.js";

export async function triggersTab(panel, flow) {
  const list = h("div", {});
  const history = h("div", {});
  const triggersChanged = changes();
  const historyChanged = changes();
  panel.append(h("h2", {}, "Triggers"), list, h("h2", {}, "Backfills of this flow"), history);
  const load = async () => {
    const [triggers, backfills] = await Promise.all([
      api("GET", `triggers/search?namespace=${enc(flow.namespace)}&flowId=${enc(flow.id)}&size=100`),
      api("GET", `backfills?namespace=${enc(flow.namespace)}&flowId=${enc(flow.id)}&size=100`),
    ]);
    const entries = triggers.results.filter((r) => r.triggerContext.namespace === flow.namespace);
    if (triggersChanged(entries)) fill(list,
      ...(entries.length ? entries.map((entry) => triggerCard(flow, entry)) : [h("p", { class: "empty" }, "No triggers.")])
    );
    const ours = backfills.results.filter((b) => b.namespace === flow.namespace);
    if (historyChanged(ours)) fill(history, backfillTable(ours, false));
  };
  await load();
  poll(load, 3000);
}

function triggerCard(flow, entry) {
  const spec = entry.abstractTrigger;
  const context = entry.triggerContext;
  const id = spec.id;
  const toggleId = `enabled-${id}`;
  const message = h("p", { class: "field-error", id: `toggle-error-${id}`, hidden: true });
  const toggle = h("input", {
    type: "checkbox",
    id: toggleId,
    role: "switch",
    checked: !context.disabled,
    "aria-describedby": `toggle-error-${id}`,
    // While the PUT runs the switch stays focusable (a disabled one would drop the focus) but ignores clicks.
    onclick: (event) => {
      if (toggle.getAttribute("aria-busy") === "true") event.preventDefault();
    },
    onchange: async () => {
      toggle.setAttribute("aria-busy", "true");
      message.hidden = true;
      try {
        const updated = await api("PUT", "triggers", {
          namespace: flow.namespace,
          flowId: flow.id,
          triggerId: id,
          disabled: !toggle.checked,
        });
        toggle.checked = !updated.disabled;
        stateText.textContent = toggleText(updated.disabled);
        announce(`Trigger ${id} ${updated.disabled ? "disabled" : "enabled"}`);
      } catch (err) {
        toggle.checked = !toggle.checked;
        message.textContent = err.message;
        message.hidden = false;
      } finally {
        toggle.removeAttribute("aria-busy");
      }
    },
  });
  const toggleText = (disabled) => (disabled ? "off: nothing runs, live or backfill" : "on: runs on its cron");
  const stateText = h("span", { id: `toggle-state-${id}` }, toggleText(context.disabled));
  const running = context.backfill;
  const isSchedule = Boolean(spec.cron);
  return h(
    "article",
    { class: "card trigger", "aria-labelledby": `trigger-${id}` },
    h("h3", { id: `trigger-${id}` }, id, " ", h("span", { class: "muted small" }, (spec.type || "").split(".").pop())),
    h(
      "dl",
      { class: "pairs" },
      h("dt", {}, "Cron"),
      h("dd", { class: "mono" }, spec.cron || "—"),
      h("dt", {}, "Timezone"),
      h("dd", {}, spec.timezone || "UTC"),
      h("dt", {}, "Next date"),
      h("dd", {}, fmtDate(context.nextExecutionDate, spec.timezone)),
      h("dt", {}, "Last evaluated"),
      h("dd", {}, fmtDate(context.date, spec.timezone)),
      h("dt", {}, "Running backfill"),
      h(
        "dd",
        {},
        running
          ? h("a", { href: `#/backfills/${enc(running.id)}` }, backfillOutcome(running).text)
          : "none"
      )
    ),
    h(
      "div",
      { class: "trigger-actions" },
      h("div", { class: "switch" }, toggle, h("label", { for: toggleId }, "Enabled"), " ", h("span", { class: "muted", "aria-hidden": "true" }, stateText)),
      isSchedule
        ? h(
            "button",
            {
              type: "button",
              class: "primary",
              id: `backfill-${id}`,
              onclick: () => {
                window.location.hash = `#/flows/${enc(flow.namespace)}/${enc(flow.id)}/triggers/${enc(id)}/backfill`;
              },
            },
            "Backfill executions"
          )
        : null
    ),
    message
  );
}
