// The states the UI tells apart, named once: those of a backfill, of its slots and of an execution.
export const BACKFILL_ACTIVE = ["QUEUED", "RUNNING", "PAUSED"];
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
