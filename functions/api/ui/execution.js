// An execution's page (#/executions/<id>): state history, trigger variables, inputs, labels, task runs and logs.
import { api } from "./api.js";
import { badge, dl, enc, fill, fmtDate, fmtDuration, h, labelChips, tableWrap } from "./dom.js";
import { poll, setPage } from "./page.js";
import { EXECUTION_DONE, runKind } from "./states.js";

export async function executionPage(id) {
  const body = h("div", {});
  const logs = h("div", {});
  let first = true;
  const load = async () => {
    const [e, lines] = await Promise.all([api("GET", `executions/${enc(id)}`), api("GET", `logs/${enc(id)}`)]);
    const variables = (e.trigger && e.trigger.variables) || {};
    const history = (e.state.histories || []).map((s) => h("tr", {}, h("td", {}, badge(s.state)), h("td", {}, fmtDate(s.date))));
    const tasks = (e.taskRunList || []).map((t) => h("tr", {}, h("td", {}, t.taskId), h("td", {}, badge(t.state.current)), h("td", {}, fmtDate(t.state.startDate)), h("td", {}, fmtDuration(t.state.duration))));
    fill(body,
      h(
        "p",
        { class: "muted" },
        h("a", { href: `#/flows/${enc(e.namespace)}/${enc(e.flowId)}/executions` }, `${e.namespace} / ${e.flowId}`),
        ` · revision ${e.flowRevision} · ${runKind(e)}`,
        e.backfillId ? [" · ", h("a", { href: `#/backfills/${enc(e.backfillId)}` }, "its backfill")] : null,
        ` · attempt ${e.attempt}`
      ),
      h("p", { class: "status-line" }, "State ", badge(e.state.current), e.state.duration ? ` · ${fmtDuration(e.state.duration)}` : ""),
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
