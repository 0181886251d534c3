// The states the UI tells apart, named once: those of a backfill, of its slots and of an execution.
export const BACKFILL_ACTIVE = ["QUEUED", "RUNNING", "PAUSED", "WAITING_FOR_WINDOW"];
export const BACKFILL_SETTLED = ["SUCCEEDED", "FAILED", "CANCELLED"];
// In the order the progress bar and the counts show them.
export const SLOT_STATES = [
  "SUCCEEDED",
  "RUNNING",
  "DISPATCHED",
  "PARKED",
  "PENDING",
  "FAILED",
  "SKIPPED",
  "CANCELLED",
];
export const SLOT_SETTLED = ["SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED"];
export const EXECUTION_DONE = ["SUCCESS", "FAILED", "KILLED", "CANCELLED", "WARNING"];
// What started an execution: a backfill (Kestra's `system.backfill` label), a person (no trigger), a parent flow
// (a Subflow task's trigger names the parent execution), or the live schedule.
export function runKind(e) {
  // A Subflow's child carries its parent's system labels, system.backfill among them: its trigger tells it first.
  if (e.trigger && e.trigger.variables && e.trigger.variables.executionId) return "subflow";
  if ((e.labels || []).some((l) => l.key === "system.backfill" && l.value === "true")) return "backfill";
  return e.trigger ? "schedule" : "manual";
}
// A backfill's statuses, as GET /backfills?status= takes them.
export const BACKFILL_STATUSES = ["QUEUED", "RUNNING", "PAUSED", "WAITING_FOR_WINDOW", "CANCELLING", "SUCCEEDED", "FAILED", "CANCELLED"];
// An execution's states a person filters by (GET /executions/search?state=).
export const EXECUTION_STATES = ["CREATED", "QUEUED", "RUNNING", "PAUSED", "SUCCESS", "WARNING", "FAILED", "KILLING", "KILLED", "CANCELLED", "RESTARTED"];
