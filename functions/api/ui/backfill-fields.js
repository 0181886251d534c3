// The backfill form's parts: times typed in a zone, one field per flow input, label rows, and the API's error
// messages shown next to the field they name.
import { h, zoneOffsetMs } from "./dom.js";

// A wall time (YYYY-MM-DDTHH:MM[:SS]) in a time zone, as an ISO instant in UTC.
export function wallTimeToIso(wall, timeZone) {
  const m = wall.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/);
  if (!m) return null;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  if (timeZone === "UTC") return new Date(guess).toISOString().replace(".000Z", "Z");
  let instant = guess - zoneOffsetMs(guess, timeZone);
  instant = guess - zoneOffsetMs(instant, timeZone);
  return new Date(instant).toISOString().replace(".000Z", "Z");
}

export function inputField(spec) {
  const id = `input-${spec.id}`;
  const type = String(spec.type || "STRING").toUpperCase();
  const hasDefault = spec.defaults !== undefined && spec.defaults !== null;
  const required = spec.required !== false && !hasDefault;
  const describedBy = `err-inputs-${spec.id} hint-${id}`;
  const common = { id, name: id, "data-input": spec.id, "data-type": type, "aria-describedby": describedBy };
  let control;
  if (type === "BOOLEAN") {
    control = h(
      "select",
      common,
      h("option", { value: "" }, hasDefault ? `default (${spec.defaults})` : "not set"),
      h("option", { value: "true" }, "true"),
      h("option", { value: "false" }, "false")
    );
    if (hasDefault) control.value = String(spec.defaults);
  } else if (type === "SELECT") {
    control = h(
      "select",
      { ...common, required },
      required ? null : h("option", { value: "" }, "not set"),
      (spec.values || []).map((v) => h("option", { value: v }, v))
    );
    if (hasDefault) control.value = String(spec.defaults);
  } else if (type === "JSON") {
    control = h("textarea", { ...common, rows: 3, required }, hasDefault ? JSON.stringify(spec.defaults) : "");
  } else {
    const htmlType = { INT: "number", FLOAT: "number", DATE: "date" }[type] || "text";
    control = h("input", {
      ...common,
      type: htmlType,
      step: type === "INT" ? "1" : type === "FLOAT" ? "any" : null,
      placeholder: type === "DATETIME" ? "2024-03-28T06:30:00Z" : null,
      required,
      value: hasDefault ? String(spec.defaults) : "",
    });
  }
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, spec.id, required ? h("span", { class: "required" }, " (required)") : null),
    control,
    h("p", { class: "hint", id: `hint-${id}` }, `${type}${spec.description ? ` · ${spec.description}` : ""}`),
    h("p", { class: "field-error", id: `err-inputs-${spec.id}`, hidden: true })
  );
}

export function readInputs(form) {
  const inputs = {};
  for (const control of form.querySelectorAll("[data-input]")) {
    const raw = control.value.trim();
    if (raw === "") continue;
    const type = control.dataset.type;
    let value = raw;
    if (type === "INT" || type === "FLOAT") value = Number(raw);
    else if (type === "BOOLEAN") value = raw === "true";
    else if (type === "JSON") {
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw;
      }
    }
    inputs[control.dataset.input] = value;
  }
  return Object.keys(inputs).length ? inputs : null;
}

export function labelRow(container, key, value) {
  const n = container.children.length + 1;
  const row = h(
    "div",
    { class: "label-row" },
    h("div", { class: "field" }, h("label", { for: `label-key-${n}` }, `Label ${n} key`), h("input", { id: `label-key-${n}`, class: "label-key", type: "text", value: key || "", autocomplete: "off" })),
    h("div", { class: "field" }, h("label", { for: `label-value-${n}` }, `Label ${n} value`), h("input", { id: `label-value-${n}`, class: "label-value", type: "text", value: value || "", autocomplete: "off" })),
    h(
      "button",
      {
        type: "button",
        class: "remove",
        "aria-label": `Remove label ${n}`,
        onclick: () => {
          row.remove();
          container.dispatchEvent(new Event("input", { bubbles: true }));
        },
      },
      "Remove"
    )
  );
  container.append(row);
  return row;
}

const FIELD_ERRORS = [
  ["backfill.start", "err-start"],
  ["backfill.end", "err-end"],
  ["backfill.labels", "err-labels"],
  ["backfill.concurrency", "err-concurrency"],
  ["backfill.order", "err-order"],
  ["backfill.reprocess", "err-reprocess"],
  ["backfill.maxFailures", "err-maxFailures"],
  ["backfill.max_failures", "err-maxFailures"],
  ["backfill.maxSlotsPerMinute", "err-maxSlotsPerMinute"],
  ["backfill.runWindow", "err-runWindow"],
  ["maxSlotsPerMinute", "err-maxSlotsPerMinute"],
  ["concurrency", "err-concurrency"],
  ["start", "err-start"],
  ["end", "err-end"],
];

export function showErrors(form, message) {
  clearErrors(form);
  const general = [];
  for (const part of String(message).split(/;\s+(?=[\w.[\]]+: )/)) {
    const match = part.match(/^([\w.[\]]+):\s*(.*)$/s);
    let target = null;
    if (match) {
      const field = match[1];
      const input = field.match(/^backfill\.inputs\.([\w-]+)/);
      if (input) target = form.querySelector(`#err-inputs-${CSS.escape(input[1])}`) || form.querySelector("#err-inputs");
      else if (field.startsWith("backfill.inputs")) target = form.querySelector("#err-inputs");
      else {
        const known = FIELD_ERRORS.find(([name]) => field === name || field.startsWith(`${name}.`));
        if (known) target = form.querySelector(`#${known[1]}`);
      }
    }
    if (target) {
      target.textContent = part;
      target.hidden = false;
      const control = form.querySelector(`[aria-describedby~="${target.id}"]`);
      if (control) control.setAttribute("aria-invalid", "true");
    } else {
      general.push(part);
    }
  }
  const box = form.querySelector("#form-error");
  if (general.length) {
    box.textContent = general.join("; ");
    box.hidden = false;
  }
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error")) {
    el.hidden = true;
    el.textContent = "";
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const box = form.querySelector("#form-error");
  box.hidden = true;
  box.textContent = "";
}
