// Formatting of times, durations, dates and failovers for display. Formatters are made once:
// building an Intl formatter per call is slow enough to show with thousands of rows.

import { Failover } from "./protocol";

const TIME = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
const DAY = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const HM = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hour12: false });

export function fmtDuration(ms: number): string {
  if (!(ms > 0)) return "0s";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, "0")}m`;
}

export function fmtTime(ms: number): string {
  return ms ? TIME.format(ms) : "—";
}

export function fmtHourMinute(ms: number): string {
  return ms ? HM.format(ms) : "—";
}

export function fmtDateTime(ms: number): string {
  return ms ? `${DAY.format(ms)} ${TIME.format(ms)}` : "—";
}

// Today's date (YYYY-MM-DD) in a time zone; the browser's own zone if the name is unknown.
export function todayIn(timeZone: string | undefined): string {
  const now = new Date();
  try {
    const parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: timeZone || undefined, year: "numeric", month: "2-digit", day: "2-digit",
    }).formatToParts(now);
    const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
    return `${get("year")}-${get("month")}-${get("day")}`;
  } catch {
    const p = (x: number) => String(x).padStart(2, "0");
    return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
  }
}

// A registry's new term in a few words: "Registry failover: backup is active, term 3" for a
// registry of a pair; a registry alone only takes a new term.
export function fmtFailover(f: Pick<Failover, "epoch" | "registry">): string {
  return f.registry === "primary" || f.registry === "backup"
    ? `Registry failover: ${f.registry} is active, term ${f.epoch}`
    : `Registry term ${f.epoch}: ${f.registry ?? "the registry"} is active`;
}
