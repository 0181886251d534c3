// The backfill UI's entry point: hash routes to pages. Vanilla JS modules over the public API only, no build
// step. Hash routes, so the same files work behind any stage prefix (the API is found at ../api/v1 from here).
// Every page calls the API: its client and the SigV4 signer (which tests/e2e/test_ui_sigv4.py calls on window)
// load with this module, not after the first page's.
import "./api.js";
import { errorBox, h } from "./dom.js";
import { leavePage, main, setPage } from "./page.js";

// Each page's module is fetched the first time it is opened, not all at start: on AWS the /ui files share a
// small throttle (UiThrottlingRateLimit in template.yaml), so a page load asks only for what it draws.
const routes = [
  [/^\/?$/, async () => (await import("./flows.js")).flowsPage()],
  [/^\/backfills\/?$/, async () => (await import("./backfills.js")).backfillsPage()],
  [
    /^\/flows\/([^/]+)\/([^/]+)\/triggers\/([^/]+)\/backfill$/,
    async (m) => (await import("./backfill-form.js")).backfillFormPage(m[1], m[2], m[3]),
  ],
  [
    /^\/flows\/([^/]+)\/([^/]+)(?:\/(source|executions|triggers))?$/,
    async (m) => (await import("./flow.js")).flowPage(m[1], m[2], m[3] || "source"),
  ],
  [/^\/backfills\/([^/]+)\/details$/, async (m) => (await import("./backfill-slots.js")).slotsPage(m[1])],
  [/^\/backfills\/([^/]+)$/, async (m) => (await import("./backfill-progress.js")).progressPage(m[1])],
  [/^\/executions\/([^/]+)$/, async (m) => (await import("./execution.js")).executionPage(m[1])],
];

async function route() {
  leavePage();
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
