// The page's lifecycle: the <main> it draws into, and the timers it must stop when the route changes.
import { fill } from "./dom.js";

export const main = document.getElementById("main");
let cleanups = [];

// Called by the router before the next page is drawn: stops the last page's polls and timers.
export function leavePage() {
  cleanups.forEach((fn) => fn());
  cleanups = [];
}

export function onCleanup(fn) {
  cleanups.push(fn);
}

export function poll(fn, ms) {
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

export function setPage(title, ...children) {
  document.title = `${title} · Schedule backfills`;
  fill(main, ...children.flat(Infinity));
}
