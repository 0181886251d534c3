// A backfill's progress page (#/backfills/<id>): live counts and bar, and its controls (pause, resume, cancel,
// retry failed, concurrency).
import { api } from "./api.js";
import { announce, backfillOutcome, badge, enc, fill, fmtDate, fmtDuration, fmtNumber, fmtRelative, h, labelChips } from "./dom.js";
import { poll, setPage } from "./page.js";
import { BACKFILL_ACTIVE, BACKFILL_SETTLED, SLOT_STATES } from "./states.js";

const POLL_MS = 1000;

// Cancelled slots fill their own grey part of the bar but count as neither done nor ran.
function stackedBar(b) {
  const outcome = backfillOutcome(b);
  const total = b.total || 0;
  const counts = b.counts || {};
  const bar = h("div", {
    class: "bar",
    role: "progressbar",
    "aria-valuemin": 0,
    "aria-valuemax": 100,
    "aria-valuenow": outcome.percent,
    "aria-valuetext": `${outcome.percentText} · ${outcome.text}`,
    "aria-labelledby": "progress-label",
    id: "progress-bar",
  });
  for (const state of SLOT_STATES) {
    const n = counts[state] || 0;
    if (!n || !total || state === "PENDING") continue;
    bar.append(h("span", { class: `seg seg-${state.toLowerCase()}`, style: `width:${(100 * n) / total}%`, title: `${state}: ${n}` }));
  }
  return bar;
}

function countsList(b) {
  const counts = b.counts || {};
  return h(
    "ul",
    { class: "counts", "aria-label": "Slots by state", id: "counts" },
    SLOT_STATES.map((state) =>
      h(
        "li",
        { class: counts[state] ? "" : "zero", "data-state": state },
        h("span", { class: `dot seg-${state.toLowerCase()}`, "aria-hidden": "true" }),
        h("span", { class: "count-name" }, state.toLowerCase()),
        " ",
        h("strong", {}, fmtNumber(counts[state] || 0))
      )
    )
  );
}

export async function progressPage(id) {
  const title = h("h1", {}, "Backfill");
  const meta = h("p", { class: "muted" });
  const statusLine = h("p", { class: "status-line" });
  const progressText = h("p", { class: "progress-text", id: "progress-label" });
  const barSlot = h("div", {});
  const counts = h("div", {});
  const facts = h("dl", { class: "pairs facts" });
  const message = h("p", { class: "error-box", role: "alert", hidden: true });
  const updated = h("p", { class: "muted small", id: "updated" });
  const pause = h("button", { type: "button", id: "pause" }, "Pause");
  const resume = h("button", { type: "button", id: "resume" }, "Resume");
  const cancel = h("button", { type: "button", id: "cancel", class: "danger" }, "Cancel");
  const retry = h("button", { type: "button", id: "retry-failed" }, "Retry failed");
  const concurrency = h("input", { type: "number", id: "concurrency", min: "1", step: "1", inputmode: "numeric" });
  const setConcurrency = h("button", { type: "button", id: "set-concurrency" }, "Set");
  const concurrencyForm = h(
    "div",
    { class: "concurrency-field" },
    h("label", { for: "concurrency" }, "Concurrency"),
    concurrency,
    setConcurrency
  );
  const rateLimit = h("input", { type: "number", id: "rate-limit", min: "1", step: "1", inputmode: "numeric", placeholder: "no limit" });
  const setRateLimit = h("button", { type: "button", id: "set-rate-limit" }, "Set limit");
  const rateLimitForm = h(
    "div",
    { class: "concurrency-field" },
    h("label", { for: "rate-limit" }, "Rate limit (slots/min)"),
    rateLimit,
    setRateLimit
  );
  const kill = h("input", { type: "checkbox", id: "cancel-kill" });
  const confirmCancel = h("button", { type: "button", id: "confirm-cancel", class: "danger" }, "Yes, cancel the backfill");
  const keep = h("button", { type: "button", id: "keep-running" }, "Keep it");
  const confirmBox = h(
    "div",
    { class: "confirm card", id: "cancel-confirm", hidden: true, role: "group", "aria-labelledby": "confirm-title" },
    h("p", { id: "confirm-title" }, "Cancel this backfill? Slots not yet run will not run."),
    h("div", { class: "switch" }, kill, h("label", { for: "cancel-kill" }, "Also kill the executions running now")),
    h("div", { class: "actions" }, confirmCancel, keep)
  );
  const detailsLink = h("a", { href: `#/backfills/${enc(id)}/details`, class: "button", id: "details" }, "Details");
  let backfill = null;

  const render = (b) => {
    backfill = b;
    title.textContent = `Backfill of ${b.flowId}`;
    fill(meta,
      h("a", { href: `#/flows/${enc(b.namespace)}/${enc(b.flowId)}/triggers` }, `${b.namespace} / ${b.flowId}`),
      ` · trigger ${b.triggerId} · `,
      h("span", { class: "mono" }, b.id)
    );
    fill(statusLine, "Status ", badge(b.status), b.paused && b.status !== "PAUSED" ? h("span", { class: "muted" }, " (paused)") : null, b.triggerDisabled ? h("span", { class: "muted" }, " · the trigger is disabled") : null, b.pauseReason ? h("span", { class: "muted" }, ` · ${b.pauseReason}`) : null, b.yieldingToLive ? h("span", { class: "muted", id: "yielding" }, " · stepping aside while a live run of its trigger starts") : null, b.nextWindowOpening ? h("span", { class: "muted", id: "next-opening" }, ` · carries on at ${fmtDate(b.nextWindowOpening, b.runWindow.timezone)} (${fmtRelative(b.nextWindowOpening)})`) : null);
    const outcome = backfillOutcome(b);
    progressText.textContent = `${outcome.percentText} · ${outcome.text}`;
    fill(barSlot, stackedBar(b));
    fill(counts, countsList(b));
    const settled = BACKFILL_SETTLED.includes(b.status);
    fill(facts,
      h("dt", {}, "Window"),
      h("dd", {}, `${fmtDate(b.start, b.timezone)} → ${fmtDate(b.end, b.timezone)}`),
      h("dt", {}, "Current date"),
      h("dd", { id: "current-date" }, settled ? "—" : fmtDate(b.currentDate, b.timezone)),
      h("dt", {}, "Rate"),
      h("dd", { id: "rate" }, `${b.slotsPerMinute} slots/min` + (b.maxSlotsPerMinute ? ` (limit ${b.maxSlotsPerMinute} a minute)` : "")),
      h("dt", {}, "ETA"),
      h("dd", { id: "eta" }, b.etaDate ? `${fmtDate(b.etaDate)} (${fmtRelative(b.etaDate)})` : "—"),
      h("dt", {}, "Concurrency"),
      h("dd", {}, String(b.concurrency)),
      h("dt", {}, "Run window"),
      h("dd", { id: "run-window" }, b.runWindow ? windowText(b.runWindow) : "any time"),
      h("dt", {}, "Forecast at start"),
      h("dd", { id: "forecast-at-start" }, b.forecastSeconds === null ? `unknown (${b.forecastBasis || "no forecast"})` : `about ${fmtDuration(b.forecastSeconds)} and $${b.forecastCostUsd.toFixed(4)} on AWS (${b.forecastBasis})`),
      h("dt", {}, "Live runs"),
      h("dd", { id: "live-first" }, b.liveFirst ? "go first: it steps aside while one starts" : "compete with it"),
      h("dt", {}, "Order, reprocess"),
      h("dd", {}, `${b.order.replace("_", " ")}, ${b.reprocess}`),
      h("dt", {}, "Labels"),
      h("dd", {}, labelChips(b.labels)),
      h("dt", {}, "Inputs"),
      h("dd", {}, b.inputs && Object.keys(b.inputs).length ? JSON.stringify(b.inputs) : "none"),
      h("dt", {}, "Created"),
      h("dd", {}, `${fmtDate(b.created)}${b.createdBy ? ` by ${b.createdBy}` : ""}`)
    );
    const active = BACKFILL_ACTIVE.includes(b.status);
    pause.disabled = !active || b.paused;
    resume.disabled = !active || !b.paused;
    cancel.disabled = !active;
    retry.disabled = !b.failed || ["CANCELLING", "CANCELLED"].includes(b.status);
    concurrency.disabled = setConcurrency.disabled = !active;
    if (document.activeElement !== concurrency) concurrency.value = String(b.concurrency);
    rateLimit.disabled = setRateLimit.disabled = !active;
    if (document.activeElement !== rateLimit) rateLimit.value = b.maxSlotsPerMinute ? String(b.maxSlotsPerMinute) : "";
    if (!active) confirmBox.hidden = true;
    updated.textContent = `Updated ${fmtDate(new Date().toISOString())}${settled ? "" : " · updating live"}`;
    return settled;
  };

  const refresh = async () => render(await api("GET", `backfills/${enc(id)}`));

  const act = async (button, fn, done) => {
    message.hidden = true;
    button.disabled = true;
    try {
      await fn();
      announce(done);
    } catch (err) {
      message.textContent = err.message;
      message.hidden = false;
    }
    await refresh().catch(() => {});
  };
  const change = (body) => api("PATCH", `backfills/${enc(id)}`, body);
  pause.addEventListener("click", () => act(pause, () => change({ paused: true }), "Paused").then(() => resume.focus()));
  resume.addEventListener("click", () => act(resume, () => change({ paused: false }), "Resumed").then(() => pause.focus()));
  retry.addEventListener("click", () => act(retry, () => api("POST", `backfills/${enc(id)}/retry-failed`), "Failed slots queued again"));
  setConcurrency.addEventListener("click", () =>
    act(setConcurrency, () => change({ concurrency: Number(concurrency.value) }), `Concurrency ${concurrency.value}`)
  );
  setRateLimit.addEventListener("click", () => {
    const limit = rateLimit.value.trim() ? Number(rateLimit.value) : null;
    act(setRateLimit, () => change({ maxSlotsPerMinute: limit }), limit ? `Rate limit ${limit} a minute` : "No rate limit");
  });
  cancel.addEventListener("click", () => {
    confirmBox.hidden = false;
    keep.focus();
  });
  keep.addEventListener("click", () => {
    confirmBox.hidden = true;
    cancel.focus();
  });
  confirmCancel.addEventListener("click", () =>
    act(confirmCancel, () => api("POST", `backfills/${enc(id)}/cancel`, { kill: kill.checked }), "Cancelled").then(() => {
      confirmBox.hidden = true;
      detailsLink.focus();
    })
  );

  const settled = render(await api("GET", `backfills/${enc(id)}`));
  setPage(
    "Backfill progress",
    h("p", { class: "breadcrumb" }, h("a", { href: "#/backfills" }, "Backfills"), " / "),
    title,
    meta,
    h(
      "section",
      { class: "card progress-card", "aria-label": "Progress" },
      statusLine,
      progressText,
      barSlot,
      counts,
      h("div", { class: "actions" }, pause, resume, cancel, retry, detailsLink),
      concurrencyForm,
      rateLimitForm,
      confirmBox,
      message,
      updated
    ),
    h("section", { class: "card", "aria-label": "About this backfill" }, h("h2", {}, "About"), facts)
  );
  if (!settled) poll(async () => !(await refresh()), POLL_MS);
}

// "01:00 to 06:00 Europe/Paris, Monday to Friday": a run window as a person reads it.
function windowText(w) {
  const week = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"];
  const name = (d) => d.charAt(0) + d.slice(1).toLowerCase();
  const days = w.days.length === 7 ? "every day" : w.days.map(name).join(", ");
  const overnight = w.to <= w.from ? " (overnight)" : "";
  return `${w.from} to ${w.to}${overnight} ${w.timezone}, ${days}`;
}
