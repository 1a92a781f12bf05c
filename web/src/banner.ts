// The connection banner: says plainly when the page is not live, and counts down to the
// next attempt. Hidden while connected.

import { LinkState } from "./connection";
import { h } from "./dom";

export class Banner {
  readonly el = h("div", { class: "banner", "data-testid": "connection-banner", role: "status", "aria-live": "polite" });
  private text = h("span");
  private now = h("button", { class: "btn btn-small", "data-testid": "reconnect-now" }, "Reconnect now");
  private state: LinkState | null = null;

  constructor(onReconnect: () => void, private tokenHint: () => boolean) {
    this.now.addEventListener("click", onReconnect);
    this.el.append(this.text, this.now);
  }

  set(s: LinkState): void {
    this.state = s;
    this.render();
  }

  // Once a second while reconnecting, for the countdown.
  tick(): void {
    if (this.state && this.state.status === "reconnecting") this.render();
  }

  private render(): void {
    const s = this.state!;
    this.el.dataset.status = s.status;
    this.el.hidden = s.status === "open";
    this.now.hidden = s.status !== "reconnecting";
    if (s.status === "connecting") {
      this.text.textContent = "Connecting to the gateway…";
      return;
    }
    if (s.status !== "reconnecting") return;
    const secs = Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000));
    const lead = s.everOpened ? "Disconnected from the gateway" : "Cannot reach the gateway";
    const when = s.retryAt ? (secs ? `reconnecting in ${secs} s` : "reconnecting…") : "reconnecting…";
    const hint = !s.everOpened && s.attempt >= 2 && this.tokenHint()
      ? " If read-only viewing is closed, set the token." : "";
    this.text.textContent = `${lead} (${s.reason || "no connection"}) — ${when}, attempt ${s.attempt}. ` +
      `What is shown may be out of date.${hint}`;
  }
}
