// The backfill UI: vanilla JS over the public API only. Hash routes, so the same files work behind any
// stage prefix (the API is found at ../api/v1 from this page).
"use strict";

(() => {
  const API = new URL("../api/v1/", window.location.href).href.split("#")[0];
  const TOKEN_KEY = "backfill-api-token";
  const AWS_KEY = "backfill-aws-credentials";
  // On AWS the API's own host names its region; a custom domain does not, and the region is typed in.
  const API_REGION = (new URL(API).hostname.match(/\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/) || [])[1];
  const POLL_MS = 1000;
  const SETTLED = ["SUCCEEDED", "FAILED", "CANCELLED"];
  const EXECUTION_DONE = ["SUCCESS", "FAILED", "KILLED", "CANCELLED", "WARNING"];
  const SLOT_STATES = ["SUCCEEDED", "RUNNING", "DISPATCHED", "PARKED", "PENDING", "FAILED", "SKIPPED", "CANCELLED"];
  const main = document.getElementById("main");
  let cleanups = [];

  // ---------- DOM helpers ----------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key === "style") el.style.cssText = value; // CSSOM: allowed by the page's CSP, unlike the attribute
      else if (value === true) el.setAttribute(key, "");
      else el.setAttribute(key, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  // Replace an element's children, skipping null/false ones (the native call would print "null"). A live
  // refresh must not steal the keyboard focus: the focused element's twin (same id) gets it back.
  function fill(el, ...children) {
    const active = document.activeElement;
    const refocus = active && active !== el && el.contains(active) && active.id ? active.id : null;
    el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
    const twin = refocus && document.getElementById(refocus);
    if (twin) twin.focus({ preventScroll: true });
  }

  // For pollers: true when the data differs from the last call's, so unchanged pages are left alone.
  function changes() {
    let last = null;
    return (data) => {
      const next = JSON.stringify(data);
      if (next === last) return false;
      last = next;
      return true;
    };
  }

  function announce(message) {
    const announcer = document.getElementById("announcer");
    announcer.textContent = "";
    window.setTimeout(() => (announcer.textContent = message), 50);
  }

  function enc(value) {
    return encodeURIComponent(value);
  }

  function fmtDate(value) {
    if (!value) return "—";
    return String(value).replace("T", " ").replace(/\.\d+(?=[Z+-])/, "");
  }

  function fmtNumber(value) {
    return Number(value || 0).toLocaleString("en-US");
  }

  function fmtRelative(iso) {
    if (!iso) return "—";
    const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
    if (!Number.isFinite(seconds)) return fmtDate(iso);
    const abs = Math.abs(seconds);
    const text =
      abs < 90 ? `${abs} s` : abs < 5400 ? `${Math.round(abs / 60)} min` : `${(abs / 3600).toFixed(1)} h`;
    return seconds >= 0 ? `in ${text}` : `${text} ago`;
  }

  function badge(state) {
    const value = state || "UNKNOWN";
    return h("span", { class: `badge state-${value.toLowerCase()}` }, value);
  }

  function tableWrap(caption, head, rows, emptyText) {
    if (!rows.length) return h("p", { class: "empty" }, emptyText);
    return h(
      "div",
      { class: "table-wrap", tabindex: 0, role: "region", "aria-label": caption },
      h(
        "table",
        {},
        h("caption", { class: "visually-hidden" }, caption),
        h("thead", {}, h("tr", {}, head.map((title) => h("th", { scope: "col" }, title)))),
        h("tbody", {}, rows)
      )
    );
  }

  function dl(entries, emptyText) {
    const items = Object.entries(entries || {});
    if (!items.length) return h("p", { class: "empty" }, emptyText);
    return h(
      "dl",
      { class: "pairs" },
      items.map(([key, value]) => [
        h("dt", {}, key),
        h("dd", {}, typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)),
      ])
    );
  }

  function labelChips(labels) {
    if (!labels || !labels.length) return h("span", { class: "empty" }, "none");
    return h(
      "ul",
      { class: "chips", "aria-label": "Labels" },
      labels.map((l) => h("li", { class: "chip" }, `${l.key}=${l.value}`))
    );
  }

  function errorBox(message) {
    return h("p", { class: "error-box", role: "alert" }, message);
  }

  // ---------- API ----------
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  let tokenPrompt = null;

  function askToken(retryMessage) {
    if (tokenPrompt) return tokenPrompt;
    const dialog = document.getElementById("token-dialog");
    const form = document.getElementById("token-form");
    const input = document.getElementById("token-input");
    const error = document.getElementById("token-error");
    error.hidden = !retryMessage;
    error.textContent = retryMessage || "";
    input.value = "";
    tokenPrompt = new Promise((resolve) => {
      form.addEventListener(
        "submit",
        (event) => {
          event.preventDefault();
          const value = input.value.trim();
          if (!value) return;
          window.sessionStorage.setItem(TOKEN_KEY, value);
          dialog.close();
          tokenPrompt = null;
          resolve(value);
        },
        { once: true }
      );
      dialog.addEventListener("cancel", (event) => event.preventDefault(), { once: true });
      dialog.showModal();
      input.focus();
    });
    return tokenPrompt;
  }

  function storedCredentials() {
    try {
      return JSON.parse(window.sessionStorage.getItem(AWS_KEY) || "null");
    } catch {
      return null;
    }
  }

  let credentialsPrompt = null;

  // AWS credentials for SigV4, asked once per tab when API Gateway refuses an unsigned call (403).
  function askCredentials(retryMessage, refused) {
    if (credentialsPrompt) return credentialsPrompt;
    const dialog = document.getElementById("aws-dialog");
    const form = document.getElementById("aws-form");
    const error = document.getElementById("aws-error");
    const fields = form.elements;
    error.hidden = !retryMessage;
    error.textContent = retryMessage || "";
    const previous = refused || {}; // the refused key and region stay filled in; the secret is typed again
    fields.accessKeyId.value = previous.accessKeyId || "";
    fields.secretAccessKey.value = "";
    fields.sessionToken.value = "";
    fields.region.value = previous.region || API_REGION || "";
    credentialsPrompt = new Promise((resolve) => {
      const submit = (event) => {
        event.preventDefault();
        if (!form.reportValidity()) return;
        const credentials = {
          accessKeyId: fields.accessKeyId.value.trim(),
          secretAccessKey: fields.secretAccessKey.value.trim(),
          region: fields.region.value.trim(),
        };
        const sessionToken = fields.sessionToken.value.trim();
        if (sessionToken) credentials.sessionToken = sessionToken;
        window.sessionStorage.setItem(AWS_KEY, JSON.stringify(credentials));
        form.removeEventListener("submit", submit);
        dialog.close();
        credentialsPrompt = null;
        resolve(credentials);
      };
      form.addEventListener("submit", submit);
      dialog.addEventListener("cancel", (event) => event.preventDefault(), { once: true });
      dialog.showModal();
      (fields.accessKeyId.value ? fields.secretAccessKey : fields.accessKeyId).focus();
    });
    return credentialsPrompt;
  }

  let clockSkewMs = 0; // the server's clock minus ours, learnt from a "Signature expired" answer

  async function api(method, path, body, retried) {
    const attempt = retried || 0;
    const url = API + path.replace(/^\//, "");
    const headers = { Accept: "application/json" };
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const token = window.sessionStorage.getItem(TOKEN_KEY);
    const credentials = storedCredentials();
    if (credentials) {
      const signed = await window.signSigV4({
        method,
        url,
        headers: {},
        body: init.body || "",
        credentials,
        region: credentials.region,
        service: "execute-api",
        date: new Date(Date.now() + clockSkewMs),
      });
      Object.assign(headers, signed);
    }
    // The token has its own header, so it goes with SigV4's Authorization.
    if (token) headers["X-Api-Token"] = token;
    const response = await fetch(url, init);
    if (response.status === 401) {
      const hadToken = Boolean(token);
      if (hadToken) window.sessionStorage.removeItem(TOKEN_KEY);
      if (attempt > 3) throw new ApiError(401, "The API refused the token");
      await askToken(hadToken ? "That token was refused; try again." : "");
      return api(method, path, body, attempt + 1);
    }
    // Our handler never answers 403: this is API Gateway's IAM check (unsigned, badly signed, not allowed).
    if (response.status === 403) {
      const message = await response
        .json()
        .then((data) => (data && data.message) || "")
        .catch(() => "");
      if (attempt > 3) throw new ApiError(403, message || "AWS refused the request");
      const serverNow = Date.parse(response.headers.get("Date") || "");
      if (credentials && /Signature (expired|not yet current)/i.test(message) && Number.isFinite(serverNow)) {
        clockSkewMs = serverNow - Date.now();
        return api(method, path, body, attempt + 1);
      }
      // Calls run in parallel: one sent before the credentials were entered (or replaced) just goes again.
      const current = window.sessionStorage.getItem(AWS_KEY);
      if (current && current !== JSON.stringify(credentials)) return api(method, path, body, attempt + 1);
      if (current) window.sessionStorage.removeItem(AWS_KEY);
      await askCredentials(credentials && `AWS refused these credentials: ${message || "403 Forbidden"}`, credentials);
      return api(method, path, body, attempt + 1);
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { message: text };
    }
    if (!response.ok) {
      const message = (data && data.message) || `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, message);
    }
    return data;
  }

  // ---------- Router ----------
  function onCleanup(fn) {
    cleanups.push(fn);
  }

  function poll(fn, ms) {
    let stopped = false;
    let timer = null;
    const tick = async () => {
      if (stopped) return;
      let again = true;
      try {
        again = (await fn()) !== false;
      } catch (err) {
        again = true;
      }
      if (!stopped && again) timer = window.setTimeout(tick, ms);
    };
    timer = window.setTimeout(tick, ms);
    onCleanup(() => {
      stopped = true;
      window.clearTimeout(timer);
    });
  }

  function setPage(title, ...children) {
    document.title = `${title} · Schedule backfills`;
    fill(main, ...children.flat(Infinity));
  }

  const routes = [
    [/^\/?$/, () => flowsPage()],
    [/^\/backfills\/?$/, () => backfillsPage()],
    [/^\/flows\/([^/]+)\/([^/]+)\/triggers\/([^/]+)\/backfill$/, (m) => backfillFormPage(m[1], m[2], m[3])],
    [/^\/flows\/([^/]+)\/([^/]+)(?:\/(source|executions|triggers))?$/, (m) => flowPage(m[1], m[2], m[3] || "source")],
    [/^\/backfills\/([^/]+)\/details$/, (m) => slotsPage(m[1])],
    [/^\/backfills\/([^/]+)$/, (m) => progressPage(m[1])],
    [/^\/executions\/([^/]+)$/, (m) => executionPage(m[1])],
  ];

  async function route() {
    cleanups.forEach((fn) => fn());
    cleanups = [];
    const hash = window.location.hash.replace(/^#/, "") || "/";
    const [path, query] = hash.split("?");
    const params = new URLSearchParams(query || "");
    for (const link of document.querySelectorAll("[data-nav]")) {
      const active =
        (link.dataset.nav === "backfills" && path.startsWith("/backfills")) ||
        (link.dataset.nav === "flows" && !path.startsWith("/backfills") && !path.startsWith("/executions"));
      if (active) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    for (const [pattern, render] of routes) {
      const match = path.match(pattern);
      if (match) {
        const decoded = match.map((part) => (part === undefined ? part : decodeURIComponent(part)));
        try {
          main.setAttribute("aria-busy", "true");
          await render(decoded, params);
        } catch (err) {
          setPage("Error", h("h1", {}, "Something went wrong"), errorBox(err.message));
        } finally {
          main.removeAttribute("aria-busy");
        }
        if (!firstRender) main.focus({ preventScroll: false });
        firstRender = false;
        return;
      }
    }
    setPage("Not found", h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to the flows")));
  }

  let firstRender = true;

  // ---------- Flows ----------
  async function flowsPage() {
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

  // ---------- Flow page ----------
  async function flowPage(namespace, flowId, tab) {
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
      h("td", {}, e.kind || ""),
      h("td", {}, labelChips(e.labels)),
      h("td", {}, fmtDate(e.state.startDate)),
      h("td", {}, e.state.duration || "—")
    );
  }

  async function triggersTab(panel, flow) {
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
        h("dd", {}, fmtDate(context.nextExecutionDate)),
        h("dt", {}, "Last evaluated"),
        h("dd", {}, fmtDate(context.date)),
        h("dt", {}, "Running backfill"),
        h(
          "dd",
          {},
          running
            ? h("a", { href: `#/backfills/${enc(running.id)}` }, `${running.status} · ${running.percent}%`)
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

  function backfillTable(backfills, withFlow) {
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

  async function backfillsPage() {
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

  // ---------- Time zones ----------
  function zoneOffsetMs(instantMs, timeZone) {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    }).formatToParts(new Date(instantMs));
    const get = (type) => Number(parts.find((p) => p.type === type).value);
    const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
    return asUtc - Math.floor(instantMs / 1000) * 1000;
  }

  // A wall time (YYYY-MM-DDTHH:MM[:SS]) in a time zone, as an ISO instant in UTC.
  function wallTimeToIso(wall, timeZone) {
    const m = wall.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/);
    if (!m) return null;
    const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    if (timeZone === "UTC") return new Date(guess).toISOString().replace(".000Z", "Z");
    let instant = guess - zoneOffsetMs(guess, timeZone);
    instant = guess - zoneOffsetMs(instant, timeZone);
    return new Date(instant).toISOString().replace(".000Z", "Z");
  }

  // ---------- Backfill form ----------
  function inputField(spec) {
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

  function readInputs(form) {
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

  function labelRow(container, key, value) {
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
    ["concurrency", "err-concurrency"],
    ["start", "err-start"],
    ["end", "err-end"],
  ];

  function showErrors(form, message) {
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

  function clearErrors(form) {
    for (const el of form.querySelectorAll(".field-error")) {
      el.hidden = true;
      el.textContent = "";
    }
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    const box = form.querySelector("#form-error");
    box.hidden = true;
    box.textContent = "";
  }

  async function backfillFormPage(namespace, flowId, triggerId) {
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

  // ---------- Backfill progress ----------
  function stackedBar(b) {
    const total = b.total || 0;
    const counts = b.counts || {};
    const bar = h("div", {
      class: "bar",
      role: "progressbar",
      "aria-valuemin": 0,
      "aria-valuemax": 100,
      "aria-valuenow": b.percent,
      "aria-valuetext": `${b.percent}% done`,
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

  async function progressPage(id) {
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
      fill(statusLine, "Status ", badge(b.status), b.paused && b.status !== "PAUSED" ? h("span", { class: "muted" }, " (paused)") : null, b.triggerDisabled ? h("span", { class: "muted" }, " · the trigger is disabled") : null, b.pauseReason ? h("span", { class: "muted" }, ` · ${b.pauseReason}`) : null);
      const done = b.total - (b.counts ? (b.counts.PENDING || 0) + (b.counts.DISPATCHED || 0) + (b.counts.RUNNING || 0) + (b.counts.PARKED || 0) : 0);
      progressText.textContent = `${b.percent}% · ${fmtNumber(done)} of ${fmtNumber(b.total)} slots done`;
      fill(barSlot, stackedBar(b));
      fill(counts, countsList(b));
      const settled = SETTLED.includes(b.status);
      fill(facts,
        h("dt", {}, "Window"),
        h("dd", {}, `${fmtDate(b.start)} → ${fmtDate(b.end)}`),
        h("dt", {}, "Current date"),
        h("dd", { id: "current-date" }, settled ? "—" : fmtDate(b.currentDate)),
        h("dt", {}, "Rate"),
        h("dd", { id: "rate" }, `${b.slotsPerMinute} slots/min`),
        h("dt", {}, "ETA"),
        h("dd", { id: "eta" }, b.etaDate ? `${fmtDate(b.etaDate)} (${fmtRelative(b.etaDate)})` : "—"),
        h("dt", {}, "Concurrency"),
        h("dd", {}, String(b.concurrency)),
        h("dt", {}, "Order, reprocess"),
        h("dd", {}, `${b.order.replace("_", " ")}, ${b.reprocess}`),
        h("dt", {}, "Labels"),
        h("dd", {}, labelChips(b.labels)),
        h("dt", {}, "Inputs"),
        h("dd", {}, b.inputs && Object.keys(b.inputs).length ? JSON.stringify(b.inputs) : "none"),
        h("dt", {}, "Created"),
        h("dd", {}, `${fmtDate(b.created)}${b.createdBy ? ` by ${b.createdBy}` : ""}`)
      );
      const active = ["QUEUED", "RUNNING", "PAUSED"].includes(b.status);
      pause.disabled = !active || b.paused;
      resume.disabled = !active || !b.paused;
      cancel.disabled = !active;
      retry.disabled = !b.failed || ["CANCELLING", "CANCELLED"].includes(b.status);
      concurrency.disabled = setConcurrency.disabled = !active;
      if (document.activeElement !== concurrency) concurrency.value = String(b.concurrency);
      if (!active) confirmBox.hidden = true;
      updated.textContent = `Updated ${new Date().toLocaleTimeString("en-GB")}${settled ? "" : " · updating live"}`;
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
        confirmBox,
        message,
        updated
      ),
      h("section", { class: "card", "aria-label": "About this backfill" }, h("h2", {}, "About"), facts)
    );
    if (!settled) poll(async () => !(await refresh()), POLL_MS);
  }

  async function slotsPage(id) {
    const params = new URLSearchParams(window.location.hash.split("?")[1] || "");
    const page = Math.max(1, Number(params.get("page") || 1));
    const size = 100;
    const list = h("div", {});
    const b = await api("GET", `backfills/${enc(id)}`);
    const changed = changes();
    setPage(
      "Backfill slots",
      h("p", { class: "breadcrumb" }, h("a", { href: `#/backfills/${enc(id)}` }, "Backfill progress"), " / "),
      h("h1", {}, `Slots of ${b.flowId}`),
      h("p", { class: "muted" }, `${b.namespace} / ${b.flowId} · ${fmtDate(b.start)} → ${fmtDate(b.end)} · `, badge(b.status)),
      list
    );
    const load = async () => {
      const found = await api("GET", `backfills/${enc(id)}/slots?page=${page}&size=${size}`);
      if (!changed(found)) return true;
      const rows = found.results.map((slot) =>
        h(
          "tr",
          {},
          h("td", {}, fmtDate(slot.date)),
          h("td", {}, badge(slot.state)),
          h("td", {}, slot.executionId ? h("a", { href: `#/executions/${enc(slot.executionId)}`, class: "mono", id: `slot-${slot.executionId}` }, slot.executionId) : "—"),
          h("td", {}, slot.reason || "")
        )
      );
      const pages = Math.max(1, Math.ceil(found.total / size));
      const base = `#/backfills/${enc(id)}/details`;
      fill(list,
        tableWrap("Slots", ["Slot", "State", "Execution", "Reason"], rows, "No slots."),
        h(
          "nav",
          { class: "pager", "aria-label": "Pages" },
          page > 1 ? h("a", { href: `${base}?page=${page - 1}` }, "Previous") : null,
          h("span", {}, `Page ${page} of ${pages} · ${fmtNumber(found.total)} slots`),
          page < pages ? h("a", { href: `${base}?page=${page + 1}` }, "Next") : null
        )
      );
      return !found.results.every((slot) => ["SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED"].includes(slot.state));
    };
    if (await load()) poll(load, 2000);
  }

  // ---------- Execution ----------
  async function executionPage(id) {
    const body = h("div", {});
    const logs = h("div", {});
    let first = true;
    const load = async () => {
      const [e, lines] = await Promise.all([api("GET", `executions/${enc(id)}`), api("GET", `logs/${enc(id)}`)]);
      const variables = (e.trigger && e.trigger.variables) || {};
      const history = (e.state.histories || []).map((s) => h("tr", {}, h("td", {}, badge(s.state)), h("td", {}, fmtDate(s.date))));
      const tasks = (e.taskRunList || []).map((t) => h("tr", {}, h("td", {}, t.taskId), h("td", {}, badge(t.state.current)), h("td", {}, fmtDate(t.state.startDate)), h("td", {}, t.state.duration || "—")));
      fill(body,
        h(
          "p",
          { class: "muted" },
          h("a", { href: `#/flows/${enc(e.namespace)}/${enc(e.flowId)}/executions` }, `${e.namespace} / ${e.flowId}`),
          ` · revision ${e.flowRevision} · ${e.kind}`,
          e.backfillId ? [" · ", h("a", { href: `#/backfills/${enc(e.backfillId)}` }, "its backfill")] : null,
          ` · attempt ${e.attempt}`
        ),
        h("p", { class: "status-line" }, "State ", badge(e.state.current), e.state.duration ? ` · ${e.state.duration}` : ""),
        h(
          "div",
          { class: "columns" },
          h("section", { class: "card", "aria-labelledby": "h-history" }, h("h2", { id: "h-history" }, "State history"), tableWrap("State history", ["State", "Date"], history, "No history.")),
          h("section", { class: "card", "aria-labelledby": "h-trigger" }, h("h2", { id: "h-trigger" }, "Trigger variables"), dl(variables, "None."))
        ),
        h(
          "div",
          { class: "columns" },
          h("section", { class: "card", "aria-labelledby": "h-inputs" }, h("h2", { id: "h-inputs" }, "Inputs"), dl(e.inputs, "No inputs.")),
          h("section", { class: "card", "aria-labelledby": "h-labels" }, h("h2", { id: "h-labels" }, "Labels"), labelChips(e.labels))
        ),
        h("section", { class: "card", "aria-labelledby": "h-tasks" }, h("h2", { id: "h-tasks" }, "Task runs"), tableWrap("Task runs", ["Task", "State", "Started", "Duration"], tasks, "No task runs yet."))
      );
      fill(logs,
        lines.length
          ? h(
              "ol",
              { class: "logs", id: "logs", tabindex: 0, "aria-label": "Log lines" },
              lines.map((line) =>
                h(
                  "li",
                  { class: `log level-${String(line.level).toLowerCase()}` },
                  h("time", { datetime: line.timestamp }, fmtDate(line.timestamp)),
                  " ",
                  h("span", { class: "level" }, line.level),
                  " ",
                  line.taskId ? h("span", { class: "muted" }, `${line.taskId} `) : null,
                  h("span", { class: "message" }, line.message)
                )
              )
            )
          : h("p", { class: "empty", id: "logs" }, "No log lines yet.")
      );
      if (first) {
        first = false;
        setPage(
          `Execution ${id}`,
          h("h1", {}, "Execution ", h("span", { class: "mono" }, id)),
          body,
          h("section", { class: "card", "aria-labelledby": "h-logs" }, h("h2", { id: "h-logs" }, "Logs"), logs)
        );
      }
      return !EXECUTION_DONE.includes(e.state.current);
    };
    if (await load()) poll(load, 2000);
  }

  // ---------- Start ----------
  // One render at a time: a page still loading when the hash changes would otherwise draw itself over
  // the next page and start polls that no cleanup stops. Each render reads the hash when its turn comes.
  let rendering = Promise.resolve();
  const navigate = () => {
    rendering = rendering.then(route, route);
    return rendering;
  };
  window.addEventListener("hashchange", navigate);
  document.getElementById("skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  navigate();
})();
