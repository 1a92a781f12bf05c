// Archived runs: a run that succeeded long enough ago leaves the registry's memory for the
// archive, and the gateway then pushes its fields only (`archived: true`, no tasks). When such
// a run is shown, its tasks are asked for once with a `run_status` request (the registry reads
// them from the archive) and held read-only: an archived run never changes, so nothing is
// asked again while it stays on screen. Only the run on screen holds its tasks in the store; a
// few answers are cached so that going back to a run, or a re-sync, does not ask again. A
// failure (registry or archive unavailable) goes to the errors panel and replaces the graph.

import { Connection } from "./connection";
import { TaskView } from "./protocol";
import { Run, Store, runKey } from "./store";

const CACHED_RUNS = 4;

export type ArchiveState =
  | { status: "live" }      // not archived: the gateway pushes its tasks
  | { status: "loading" }
  | { status: "loaded" }
  | { status: "failed"; message: string };

// What identifies an archived run's tasks: a new registry history may run the date again.
function identity(run: Run): string {
  return `${run.flow}\u0000${run.date}\u0000${run.version}\u0000${run.started}\u0000${run.ended}`;
}

export class ArchiveLoader {
  private cache = new Map<string, TaskView[]>(); // by identity, least recently used first
  private loading = new Set<string>();
  private failed = new Map<string, string>();    // identity -> why
  private filled: string | null = null;          // run key whose tasks came from here

  constructor(private conn: Connection, private store: Store, private onChange: () => void) {}

  state(run: Run): ArchiveState {
    if (!run.archived) return { status: "live" };
    if (run.fromArchive) return { status: "loaded" };
    const id = identity(run);
    const why = this.failed.get(id);
    if (why !== undefined) return { status: "failed", message: why };
    return { status: "loading" };
  }

  // The run shown now (or none): gives it its tasks from the cache or asks for them, and lets
  // the previous one go.
  show(run: Run | null): void {
    const key = run ? runKey(run.flow, run.date) : null;
    if (this.filled && this.filled !== key) {
      const previous = this.filled;
      this.filled = null;
      this.store.emptyArchived(previous);
    }
    if (!run || !run.archived || run.fromArchive) return;
    const id = identity(run);
    const cached = this.cache.get(id);
    if (cached) {
      this.cache.delete(id);
      this.cache.set(id, cached);
      this.filled = key;
      this.store.fillFromArchive(run.flow, run.date, cached);
      return;
    }
    if (!this.loading.has(id) && !this.failed.has(id)) void this.load(run, id);
  }

  // Asks again for a run whose tasks could not be read.
  retry(run: Run): void {
    this.failed.delete(identity(run));
    this.onChange();
  }

  // A new snapshot (a reconnect): failures may have been the connection's; try again.
  forgetFailures(): void {
    this.failed.clear();
  }

  private async load(run: Run, id: string): Promise<void> {
    this.loading.add(id);
    const { flow, date } = run;
    let why: string | null = null;
    try {
      const a = await this.conn.request({ t: "run_status", flow, date });
      if (a.t === "run_status" && a.run && !a.run.tasks.length) {
        // The registry leaves the tasks out of a reply too large for one frame.
        why = "the registry's answer holds no tasks";
      } else if (a.t === "run_status" && a.run) {
        this.cache.set(id, a.run.tasks);
        while (this.cache.size > CACHED_RUNS) this.cache.delete(this.cache.keys().next().value as string);
      } else {
        why = a.t === "reply" ? a.message || "refused" : `unexpected answer "${a.t}"`;
      }
    } catch (e) {
      why = (e as Error).message;
    }
    this.loading.delete(id);
    if (why !== null) {
      this.failed.set(id, why);
      this.store.addError({
        time: Date.now(), service: "archive", message: `The tasks of ${flow} ${date} (archived) were not loaded: ${why}`,
      }, true);
    }
    this.onChange();
  }
}
