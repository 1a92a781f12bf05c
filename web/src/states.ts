// Colours and groupings of task and run states; the CSS uses the same names (.s-<state>).

export const STATE_COLOR: Record<string, string> = {
  waiting: "#9aa3af",
  ready: "#8fb3f5",
  dispatched: "#6b8cf0",
  running: "#2f74e0",
  succeeded: "#2f9e4f",
  confirmed: "#1c7436",
  failed: "#d63a3a",
  retrying: "#e8890c",
  skipped: "#a48ad6",
  cancelled: "#6e7681",
  rolled_back: "#c2255c",
};

export function stateColor(state: string): string {
  return STATE_COLOR[state] ?? "#9aa3af";
}

export const ACTIVE = new Set(["ready", "dispatched", "running", "retrying"]);
export const DONE_OK = new Set(["succeeded", "confirmed", "skipped"]);
export const BAD = new Set(["failed", "cancelled", "rolled_back"]);
// What the registry runs again on Retry (the engine's rule): nothing else.
export const RETRYABLE = BAD;

// What the state filter offers, besides single states.
export const STATE_GROUPS: Record<string, (s: string) => boolean> = {
  all: () => true,
  active: (s) => ACTIVE.has(s),
  problems: (s) => BAD.has(s) || s === "retrying",
  pending: (s) => s === "waiting",
  done: (s) => DONE_OK.has(s),
};
