// The backfill form (#/flows/<namespace>/<id>/triggers/<trigger>/backfill): a window, inputs, labels and options,
// counted by a dry run as they are typed (debounced; a request made stale by the next keystroke is aborted),
// then started with PUT /triggers, after a confirmation stating the count and the time it should take when it
// runs more than CONFIRM_ABOVE executions.
import { api } from "./api.js";
import { clearErrors, inputField, labelRow, readInputs, showErrors, wallTimeToIso } from "./backfill-fields.js";
import { announce, enc, fill, fmtDate, fmtDuration, fmtNumber, h } from "./dom.js";
import { onCleanup, setPage } from "./page.js";

const WEEK = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"];

const CONFIRM_ABOVE = 10000;
const DRY_RUN_DELAY_MS = 400;

// The dry run's forecast as a sentence: its time at the concurrency asked (or why it is unknown), what the rate
// limit and the run window do to it, and its AWS cost.
export function forecastText(forecast, concurrency) {
  const effects = [forecast.rateLimitEffect, forecast.windowEffect].filter(Boolean);
  const time =
    forecast.seconds === null
      ? `Estimated time: unknown, as nothing of this flow has finished yet to time it (concurrency ${concurrency})`
      : `Estimated time: about ${fmtDuration(forecast.seconds)} at concurrency ${concurrency} (${forecast.basis})`;
  return `${[time, ...effects].join("; ")}. Estimated AWS cost: $${forecast.costUsd.toFixed(4)}.`;
}

function costDetails(forecast) {
  return h(
    "details",
    { class: "cost" },
    h("summary", {}, "How the cost is worked out"),
    h("ul", {}, forecast.cost.map((line) => h("li", {}, `${line.item}: ${line.arithmetic}`))),
    h("p", { class: "muted small" }, forecast.prices)
  );
}

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
  const zones = [...new Set([triggerZone, "UTC", browserZone])]; // the trigger's first: the form's default
  const flowLink = `#/flows/${enc(namespace)}/${enc(flowId)}/triggers`;

  const labels = h("div", { class: "labels", id: "labels" });
  const dryRun = h("p", { class: "dry-run", id: "dry-run", role: "status", "aria-live": "polite" }, "Fill in a start to count the executions.");
  const dryRunDates = h("p", { class: "muted small", id: "dry-run-dates" });
  const forecastBox = h("div", { class: "forecast", id: "forecast" });
  const submit = h("button", { type: "submit", class: "primary", id: "submit-backfill" }, "Start backfill");
  const confirmText = h("p", { id: "confirm-start-title" });
  const confirmTime = h("p", { id: "confirm-start-time" });
  const confirmStart = h("button", { type: "button", class: "primary", id: "confirm-start" }, "Start them");
  const goBack = h("button", { type: "button", id: "confirm-back" }, "Go back");
  const confirmBox = h(
    "div",
    { class: "confirm card", id: "start-confirm", hidden: true, role: "group", "aria-labelledby": "confirm-start-title", "aria-describedby": "confirm-start-time" },
    confirmText,
    confirmTime,
    h("div", { class: "actions" }, confirmStart, goBack)
  );

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
          h("select", { id: "zone", name: "zone", "aria-describedby": "hint-zone err-zone" }, zones.map((z) => h("option", { value: z, selected: z === triggerZone }, z === triggerZone ? `${z} (the trigger's)` : z))),
          `Start and end are read in this zone. The trigger's cron runs in ${triggerZone}.`
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
          "maxSlotsPerMinute",
          "Rate limit (slots per minute)",
          h("input", { id: "maxSlotsPerMinute", name: "maxSlotsPerMinute", type: "number", min: 1, step: 1, placeholder: "no limit", "aria-describedby": "hint-maxSlotsPerMinute err-maxSlotsPerMinute" }),
          "At most this many slots start in any minute, to spare the system they replay into. Empty: no limit."
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
          "windowFrom",
          "Run window: from",
          h("input", { id: "windowFrom", name: "windowFrom", type: "time", "aria-describedby": "hint-windowFrom err-runWindow" }),
          "Slots start only between these local times (in the zone above); a slot running at the close finishes. Empty: any time."
        ),
        field(
          "windowTo",
          "Run window: to",
          h("input", { id: "windowTo", name: "windowTo", type: "time", "aria-describedby": "err-runWindow" }),
          "Before from: overnight."
        ),
        h(
          "fieldset",
          { class: "field days", id: "windowDays" },
          h("legend", {}, "Run window: days"),
          ...WEEK.map((day) =>
            h("label", { class: "day" }, h("input", { type: "checkbox", name: "windowDay", value: day, checked: true }), ` ${day.slice(0, 3)}`)
          ),
          h("p", { class: "field-error", id: "err-runWindow", hidden: true })
        ),
        h(
          "div",
          { class: "field switch" },
          h("input", { type: "checkbox", id: "liveFirst", name: "liveFirst", checked: true, "aria-describedby": "hint-liveFirst" }),
          h("label", { for: "liveFirst" }, "Live runs first"),
          h("p", { class: "hint", id: "hint-liveFirst" }, "While a slot of the trigger's own schedule starts, the backfill steps aside.")
        ),
        field(
          "maxFailures",
          "Pause after this many failures",
          h("input", { id: "maxFailures", name: "maxFailures", type: "number", min: 1, step: 1, placeholder: "never", "aria-describedby": "hint-maxFailures err-maxFailures" }),
          "Empty: never pause on failures."
        )
      )
    ),
    h("div", { class: "summary" }, dryRun, dryRunDates, forecastBox),
    confirmBox,
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
    const maxSlotsPerMinute = form.elements.maxSlotsPerMinute.value.trim();
    if (maxSlotsPerMinute) backfill.maxSlotsPerMinute = Number(maxSlotsPerMinute);
    if (!form.elements.liveFirst.checked) backfill.liveFirst = false;
    const [windowFrom, windowTo] = [form.elements.windowFrom.value, form.elements.windowTo.value];
    if (windowFrom || windowTo) {
      const days = [...form.querySelectorAll("input[name=windowDay]:checked")].map((box) => box.value);
      backfill.runWindow = { from: windowFrom, to: windowTo, timezone: zone };
      if (days.length !== WEEK.length) backfill.runWindow.days = days;
    }
    return { namespace, flowId, triggerId, backfill };
  };

  let dryRunTimer = null;
  let inFlight = null; // the dry run's AbortController
  let counted = null; // the last dry run's request (as JSON) and answer
  const runDryRun = async () => {
    const request = body();
    if (!request.backfill.start) {
      clearErrors(form);
      dryRun.textContent = "Fill in a start to count the executions.";
      dryRunDates.textContent = "";
      fill(forecastBox);
      return null;
    }
    if (inFlight) inFlight.abort();
    const controller = new AbortController();
    inFlight = controller;
    dryRun.textContent = "Counting…";
    try {
      const answer = await api("POST", "backfills/dry-run?size=1", request, { signal: controller.signal });
      if (controller.signal.aborted) return null;
      inFlight = null;
      clearErrors(form);
      counted = { request: JSON.stringify(request), answer };
      const noun = answer.run === 1 ? "execution" : "executions";
      dryRun.textContent = `This will run ${fmtNumber(answer.run)} ${noun}, ${fmtNumber(answer.skipped)} skipped.`;
      dryRun.dataset.run = String(answer.run);
      const first = answer.firstPage[0];
      const last = answer.lastPage[answer.lastPage.length - 1];
      const zone = form.elements.zone.value;
      dryRunDates.textContent = first ? `From ${fmtDate(first, zone)} to ${fmtDate(last, zone)} (${answer.order.replace("_", " ")}).` : "";
      fill(forecastBox, h("p", { id: "forecast-text" }, forecastText(answer.forecast, answer.concurrency)), costDetails(answer.forecast));
      return answer;
    } catch (err) {
      if (controller.signal.aborted) return null; // a newer request replaced it
      inFlight = null;
      dryRun.textContent = "Cannot count the executions: see the message next to the field.";
      delete dryRun.dataset.run;
      dryRunDates.textContent = "";
      fill(forecastBox);
      showErrors(form, err.message);
      return null;
    }
  };
  // Each change makes the running count stale: it is aborted at once, and one request goes once typing pauses.
  const scheduleDryRun = () => {
    window.clearTimeout(dryRunTimer);
    if (inFlight) inFlight.abort();
    inFlight = null;
    confirmBox.hidden = true;
    dryRunTimer = window.setTimeout(runDryRun, DRY_RUN_DELAY_MS);
  };
  form.addEventListener("input", scheduleDryRun);
  form.addEventListener("change", scheduleDryRun);
  onCleanup(() => {
    window.clearTimeout(dryRunTimer);
    if (inFlight) inFlight.abort();
  });

  const start = async (request) => {
    const trigger = await api("PUT", "triggers", request);
    let id = trigger.backfill && trigger.backfill.id;
    if (!id) {
      const found = await api("GET", `backfills?namespace=${enc(namespace)}&flowId=${enc(flowId)}&triggerId=${enc(triggerId)}&size=1`);
      id = found.results.length ? found.results[0].id : null;
    }
    announce("Backfill started");
    window.location.hash = id ? `#/backfills/${enc(id)}` : flowLink;
  };
  const failed = (err) => {
    showErrors(form, err.message);
    const invalid = form.querySelector("[aria-invalid]") || form.querySelector("#form-error");
    if (invalid) invalid.focus();
  };

  // Above CONFIRM_ABOVE executions, the count and the estimated time are stated and asked about first.
  const askToConfirm = async (request, answer) => {
    const concurrency = request.backfill.concurrency || 1;
    confirmText.textContent = `Start ${fmtNumber(answer.run)} executions of ${flowId}?`;
    confirmTime.textContent = forecastText(answer.forecast, concurrency);
    confirmBox.hidden = false;
    goBack.focus();
    confirmStart.textContent = `Yes, start ${fmtNumber(answer.run)} executions`;
    confirmStart.onclick = async () => {
      confirmStart.disabled = true;
      try {
        await start(request);
      } catch (err) {
        confirmBox.hidden = true;
        failed(err);
      } finally {
        confirmStart.disabled = false;
      }
    };
  };
  goBack.addEventListener("click", () => {
    confirmBox.hidden = true;
    submit.focus();
  });

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
      let answer = counted && counted.request === JSON.stringify(request) ? counted.answer : null;
      if (!answer) answer = await runDryRun();
      if (!answer) return; // its error is shown next to its field
      if (answer.run > CONFIRM_ABOVE) {
        await askToConfirm(request, answer);
        return;
      }
      await start(request);
    } catch (err) {
      failed(err);
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
