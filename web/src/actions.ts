// Operator actions: the token, the confirmation dialog, sending the action and showing the
// gateway's reply as a toast. A refused action is also kept in the errors panel.

import { Connection } from "./connection";
import { h, fill } from "./dom";
import { todayIn } from "./format";
import { ActionName } from "./protocol";
import { Store } from "./store";

const TOKEN_KEY = "zflow.token";

export class Token {
  private value = "";
  private listeners: Array<() => void> = [];

  constructor() {
    try {
      this.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
    } catch {
      this.value = "";
    }
  }

  get(): string {
    return this.value;
  }

  set(v: string): void {
    this.value = v.trim();
    try {
      if (this.value) sessionStorage.setItem(TOKEN_KEY, this.value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // Storage may be off (private mode); the token then lasts as long as the page.
    }
    for (const fn of this.listeners) fn();
  }

  subscribe(fn: () => void): void {
    this.listeners.push(fn);
  }
}

export class Toasts {
  readonly el = h("div", { class: "toasts", "data-testid": "toasts", "aria-live": "polite" });

  show(kind: "ok" | "error" | "info", text: string): void {
    const close = h("button", { class: "toast-close", "aria-label": "Dismiss", title: "Dismiss" }, "×");
    const toast = h("div", {
      class: `toast toast-${kind}`, "data-testid": "toast", "data-kind": kind,
      role: kind === "error" ? "alert" : "status",
    }, h("span", { class: "toast-text" }, text), close);
    const remove = () => toast.remove();
    close.addEventListener("click", remove);
    this.el.prepend(toast);
    while (this.el.children.length > 6) this.el.lastElementChild?.remove();
    window.setTimeout(remove, kind === "error" ? 15000 : 6000);
  }
}

export interface ActionTarget {
  flow: string;
  date?: string | null;
  task?: string | null;
  shard?: string | number | null;
}

interface ConfirmResult {
  ok: boolean;
  date: string;
}

// A modal <dialog>: focus is trapped and Escape cancels, both by the browser.
class ConfirmDialog {
  readonly el = h("dialog", { class: "dialog", "data-testid": "confirm-dialog", "aria-labelledby": "dlg-title" });
  private title = h("h2", { id: "dlg-title" });
  private body = h("p", { class: "dialog-body" });
  private dateRow = h("label", { class: "field" }, "Business date ");
  private date = h("input", { type: "date", "data-testid": "start-date" });
  private tokenRow = h("label", { class: "field" }, "Token ");
  private token = h("input", { type: "password", autocomplete: "off", "data-testid": "dialog-token" });
  private confirmBtn = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "dialog-confirm" }, "Confirm");
  private cancelBtn = h("button", { type: "button", class: "btn", "data-testid": "dialog-cancel" }, "Cancel");
  private resolve: ((r: ConfirmResult) => void) | null = null;

  constructor(private tokenStore: Token) {
    this.dateRow.append(this.date);
    this.tokenRow.append(this.token);
    const form = h("form", { method: "dialog" }, this.title, this.body, this.dateRow, this.tokenRow,
      h("div", { class: "dialog-buttons" }, this.cancelBtn, this.confirmBtn));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!this.dateRow.hidden && !this.date.value) {
        this.date.focus();
        return;
      }
      if (!this.tokenRow.hidden && this.token.value.trim()) this.tokenStore.set(this.token.value);
      this.finish(true);
    });
    this.cancelBtn.addEventListener("click", () => this.finish(false));
    this.el.addEventListener("cancel", () => this.finish(false));
    this.el.append(form);
  }

  ask(title: string, text: string, danger: boolean, date: string | null, needToken: boolean): Promise<ConfirmResult> {
    this.finish(false);
    this.title.textContent = title;
    this.body.textContent = text;
    this.dateRow.hidden = date === null;
    this.date.required = date !== null;
    this.date.value = date ?? "";
    this.tokenRow.hidden = !needToken || this.tokenStore.get() !== "";
    this.token.value = "";
    this.confirmBtn.className = `btn ${danger ? "btn-danger" : "btn-primary"}`;
    this.el.showModal();
    (date !== null ? this.date : this.tokenRow.hidden ? this.confirmBtn : this.token).focus();
    return new Promise((resolve) => (this.resolve = resolve));
  }

  private finish(ok: boolean): void {
    const r = this.resolve;
    this.resolve = null;
    if (this.el.open) this.el.close();
    if (r) r({ ok, date: this.date.value });
  }
}

// The token field: shown from the header's token button.
export class TokenDialog {
  readonly el = h("dialog", { class: "dialog", "data-testid": "token-dialog", "aria-labelledby": "tok-title" });
  private input = h("input", { type: "password", autocomplete: "off", "data-testid": "token-input", size: 36 });

  constructor(private tokenStore: Token, onSaved: () => void) {
    const save = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "token-save" }, "Save");
    const clear = h("button", { type: "button", class: "btn", "data-testid": "token-clear" }, "Forget");
    const cancel = h("button", { type: "button", class: "btn" }, "Cancel");
    const form = h("form", { method: "dialog" },
      h("h2", { id: "tok-title" }, "Operator token"),
      h("p", { class: "dialog-body" },
        "Actions (retry, skip, cancel, pause, resume, start) need the gateway's token. `zflow up` prints " +
        "the dashboard address with it; it is kept for this tab only."),
      h("label", { class: "field" }, "Token ", this.input),
      h("div", { class: "dialog-buttons" }, clear, cancel, save));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.tokenStore.set(this.input.value);
      this.el.close();
      onSaved();
    });
    clear.addEventListener("click", () => {
      this.tokenStore.set("");
      this.el.close();
      onSaved();
    });
    cancel.addEventListener("click", () => this.el.close());
    this.el.append(form);
  }

  open(): void {
    this.input.value = this.tokenStore.get();
    this.el.showModal();
    this.input.focus();
    this.input.select();
  }
}

const VERB: Record<ActionName, string> = {
  retry: "Retry", skip: "Skip", cancel: "Cancel", pause: "Pause", resume: "Resume", start: "Start",
};

export class Actions {
  readonly dialog: ConfirmDialog;

  constructor(
    private conn: Connection,
    private store: Store,
    private token: Token,
    private toasts: Toasts,
    private onStarted: (flow: string, date: string) => void,
  ) {
    this.dialog = new ConfirmDialog(token);
  }

  // Asks for confirmation, sends the action, and reports the reply.
  async run(action: ActionName, target: ActionTarget): Promise<boolean> {
    const what = describe(action, target);
    const danger = action === "cancel" || action === "skip";
    const flowDef = this.store.flows.get(target.flow);
    const date = action === "start" ? target.date || todayIn(flowDef?.timezone) : null;
    const text = action === "start"
      ? `Open a run of ${target.flow} for this business date. A past date catches up from there.`
      : `${what}?` + (danger ? " This cannot be undone, though a task can be retried later." : "");
    const answer = await this.dialog.ask(`${VERB[action]} ${action === "start" ? target.flow : ""}`.trim(), text, danger, date,
      this.store.actionsNeedToken);
    if (!answer.ok) return false;
    const sentDate = action === "start" ? answer.date : target.date ?? null;
    const label = describe(action, { ...target, date: sentDate });
    try {
      const reply = await this.conn.request({
        t: "action", token: this.token.get() || null, action, flow: target.flow,
        date: sentDate, task: target.task ?? null, shard: target.shard ?? null,
      });
      if (reply.t === "reply" && reply.ok) {
        this.toasts.show("ok", `${label}: done${reply.message ? ` (${reply.message})` : ""}`);
        if (action === "start" && sentDate) this.onStarted(target.flow, sentDate);
        return true;
      }
      const message = reply.t === "reply" ? reply.message || "refused" : `unexpected answer "${reply.t}"`;
      this.refused(label, message);
    } catch (e) {
      this.refused(label, (e as Error).message);
    }
    return false;
  }

  private refused(label: string, message: string): void {
    const hint = /token/i.test(message) ? " — set the token with the Token button" : "";
    this.toasts.show("error", `${label} failed: ${message}${hint}`);
    this.store.addError({ time: Date.now(), service: "dashboard", message: `${label}: ${message}` }, true);
  }
}

function describe(action: ActionName, t: ActionTarget): string {
  const where = [t.flow, t.date].filter(Boolean).join(" ");
  if (t.task) {
    const shard = t.shard !== null && t.shard !== undefined ? ` shard ${t.shard}` : "";
    return `${VERB[action]} ${t.task}${shard} (${where})`;
  }
  if (action === "pause" || action === "resume") return `${VERB[action]} flow ${t.flow}`;
  if (action === "cancel") return `Cancel the run ${where}`;
  return `${VERB[action]} ${where}`;
}

// Empties an element and shows a short muted line.
export function placeholder(el: HTMLElement, text: string): void {
  fill(el, h("p", { class: "muted placeholder" }, text));
}
