// The backfill form (#/flows/<namespace>/<id>/triggers/<trigger>/backfill): a window, inputs, labels and options,
// counted by a dry run as they are typed, then started with PUT /triggers.
import { api } from "./api.js";
import { clearErrors, inputField, labelRow, readInputs, showErrors, wallTimeToIso } from "./backfill-fields.js";
import { announce, enc, fmtDate, fmtNumber, h } from "./dom.js";
import { onCleanup, setPage } from "./page.js";

export async function backfillFormPage(namespace, flowId, triggerId) {
  const [flow, triggers] = await Promise.all([
    api("GET", `flows/${enc(namespace)}/${enc(flowId)}`),
    api("GET", `triggers/search?namespace=${enc(namespace)}&flowId=${enc(flowId)}&size=100`),
  ]);
  const entry = triggers.results.find(
    (r) => r.triggerContext.namespace === namespace && r.abstractTrigger.id === triggerId
  );
  if (!entry) throw new Error(`Trigger not found: ${namespace}.${flowId}.${triggerId}`);
  const spec = entry.abstractTrigger;
  const triggerZone = spec.timezone || "UTC";
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const zones = [...new Set(["UTC", triggerZone, browserZone])];
  const flowLink = `#/flows/${enc(namespace)}/${enc(flowId)}/triggers`;

  const labels = h("div", { class: "labels", id: "labels" });
  const dryRun = h("p", { class: "dry-run", id: "dry-run", role: "status", "aria-live": "polite" }, "Fill in a start to count the executions.");
  const dryRunDates = h("p", { class: "muted small", id: "dry-run-dates" });
  const submit = h("button", { type: "submit", class: "primary", id: "submit-backfill" }, "Start backfill");

  const field = (id, label, control, hint) =>
    h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      control,
      hint ? h("p", { class: "hint", id: `hint-${id}` }, hint) : null,
      h("p", { class: "field-error", id: `err-${id}`, hidden: true })
    );

  const form = h(
    "form",
    { class: "backfill-form card", novalidate: true, "aria-labelledby": "form-title" },
    h("p", { class: "error-box", id: "form-error", role: "alert", hidden: true }),
    h(
      "fieldset",
      {},
      h("legend", {}, "Window"),
      h(
        "div",
        { class: "grid" },
        field(
          "start",
          "Start",
          h("input", { id: "start", name: "start", type: "datetime-local", required: true, "aria-describedby": "hint-start err-start" }),
          "First slot at or after this time."
        ),
        field(
          "end",
          "End",
          h("input", { id: "end", name: "end", type: "datetime-local", "aria-describedby": "hint-end err-end" }),
          "Last slot at or before this time. Leave empty: now."
        ),
        field(
          "zone",
          "Times are in",
          h("select", { id: "zone", name: "zone", "aria-describedby": "hint-zone err-zone" }, zones.map((z) => h("option", { value: z }, z === triggerZone ? `${z} (the trigger's)` : z))),
          `The cron runs in ${triggerZone}.`
        )
      )
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Inputs"),
      (flow.inputs || []).length
        ? h("div", { class: "grid" }, flow.inputs.map(inputField))
        : h("p", { class: "empty" }, "This flow declares no inputs."),
      h("p", { class: "field-error", id: "err-inputs", hidden: true })
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Labels"),
      labels,
      h("button", { type: "button", id: "add-label", onclick: () => labelRow(labels).querySelector("input").focus() }, "Add label"),
      h("p", { class: "field-error", id: "err-labels", hidden: true })
    ),
    h(
      "details",
      { class: "advanced" },
      h("summary", {}, "Advanced"),
      h(
        "div",
        { class: "grid" },
        field(
          "concurrency",
          "Concurrency",
          h("input", { id: "concurrency", name: "concurrency", type: "number", min: 1, step: 1, placeholder: "1", "aria-describedby": "hint-concurrency err-concurrency" }),
          "Slots run at the same time (default 1, as Kestra)."
        ),
        field(
          "reprocess",
          "Reprocess",
          h(
            "select",
            { id: "reprocess", name: "reprocess", "aria-describedby": "hint-reprocess err-reprocess" },
            h("option", { value: "all" }, "all: replay every slot"),
            h("option", { value: "failed" }, "failed: skip slots that succeeded"),
            h("option", { value: "missing" }, "missing: skip slots that ran")
          ),
          "Which slots to run again."
        ),
        field(
          "order",
          "Order",
          h(
            "select",
            { id: "order", name: "order", "aria-describedby": "hint-order err-order" },
            h("option", { value: "oldest_first" }, "oldest first"),
            h("option", { value: "newest_first" }, "newest first")
          ),
          null
        ),
        field(
          "maxFailures",
          "Pause after this many failures",
          h("input", { id: "maxFailures", name: "maxFailures", type: "number", min: 1, step: 1, placeholder: "never", "aria-describedby": "hint-maxFailures err-maxFailures" }),
          "Empty: never pause on failures."
        )
      )
    ),
    h("div", { class: "summary" }, dryRun, dryRunDates),
    h("div", { class: "actions" }, submit, h("a", { href: flowLink, class: "button" }, "Back to triggers"))
  );
  labelRow(labels);

  const body = () => {
    const zone = form.elements.zone.value;
    const startWall = form.elements.start.value;
    const endWall = form.elements.end.value;
    const backfill = {
      start: startWall ? wallTimeToIso(startWall, zone) || startWall : null,
      end: endWall ? wallTimeToIso(endWall, zone) || endWall : null,
      inputs: readInputs(form),
      labels: [...labels.querySelectorAll(".label-row")]
        .map((row) => ({ key: row.querySelector(".label-key").value.trim(), value: row.querySelector(".label-value").value }))
        .filter((l) => l.key),
      reprocess: form.elements.reprocess.value,
      order: form.elements.order.value,
    };
    const concurrency = form.elements.concurrency.value.trim();
    if (concurrency) backfill.concurrency = Number(concurrency);
    const maxFailures = form.elements.maxFailures.value.trim();
    if (maxFailures) backfill.maxFailures = Number(maxFailures);
    return { namespace, flowId, triggerId, backfill };
  };

  let dryRunSeq = 0;
  let dryRunTimer = null;
  const runDryRun = async () => {
    const seq = ++dryRunSeq;
    const request = body();
    if (!request.backfill.start) {
      clearErrors(form);
      dryRun.textContent = "Fill in a start to count the executions.";
      dryRunDates.textContent = "";
      return null;
    }
    dryRun.textContent = "Counting…";
    try {
      const answer = await api("POST", "backfills/dry-run?size=1", request);
      if (seq !== dryRunSeq) return null;
      clearErrors(form);
      const noun = answer.run === 1 ? "execution" : "executions";
      dryRun.textContent = `This will run ${fmtNumber(answer.run)} ${noun}, ${fmtNumber(answer.skipped)} skipped.`;
      dryRun.dataset.run = String(answer.run);
      const first = answer.firstPage[0];
      const last = answer.lastPage[answer.lastPage.length - 1];
      dryRunDates.textContent = first ? `From ${fmtDate(first)} to ${fmtDate(last)} (${answer.order.replace("_", " ")}).` : "";
      return answer;
    } catch (err) {
      if (seq !== dryRunSeq) return null;
      dryRun.textContent = "Cannot count the executions: see the message next to the field.";
      delete dryRun.dataset.run;
      dryRunDates.textContent = "";
      showErrors(form, err.message);
      return null;
    }
  };
  const scheduleDryRun = () => {
    window.clearTimeout(dryRunTimer);
    dryRunTimer = window.setTimeout(runDryRun, 350);
  };
  form.addEventListener("input", scheduleDryRun);
  form.addEventListener("change", scheduleDryRun);
  onCleanup(() => window.clearTimeout(dryRunTimer));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    window.clearTimeout(dryRunTimer);
    submit.disabled = true;
    try {
      const request = body();
      if (!request.backfill.start) {
        showErrors(form, "backfill.start: a start date is required");
        form.elements.start.focus();
        return;
      }
      const trigger = await api("PUT", "triggers", request);
      let id = trigger.backfill && trigger.backfill.id;
      if (!id) {
        const found = await api("GET", `backfills?namespace=${enc(namespace)}&flowId=${enc(flowId)}&triggerId=${enc(triggerId)}&size=1`);
        id = found.results.length ? found.results[0].id : null;
      }
      announce("Backfill started");
      window.location.hash = id ? `#/backfills/${enc(id)}` : flowLink;
    } catch (err) {
      showErrors(form, err.message);
      const invalid = form.querySelector("[aria-invalid]") || form.querySelector("#form-error");
      if (invalid) invalid.focus();
    } finally {
      submit.disabled = false;
    }
  });

  setPage(
    `Backfill ${flowId}`,
    h("p", { class: "breadcrumb" }, h("a", { href: flowLink }, `${namespace} / ${flowId}`), " / ", triggerId),
    h("h1", { id: "form-title" }, "Backfill executions"),
    h("p", { class: "muted" }, `Every slot of `, h("span", { class: "mono" }, spec.cron || ""), ` (${triggerZone}) in the window runs as an execution of ${flowId}.`),
    form
  );
  form.elements.start.focus();
}
