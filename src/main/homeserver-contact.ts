// Whether the homeserver reaches the service: warns of silence after start-up and of transactions with a wrong token.
import { REGISTRATION_PLACES } from "../adapters/matrix/startup-check";
import type { Logger } from "../app/ports/logger";

/** Without an appservice ping, silence from the homeserver this long after start-up is worth a warning. */
export const QUIET_HOMESERVER_WARNING_MS = 10 * 60_000;

export interface HomeserverContactDeps {
  readonly logger: Logger;
  /** The registration's url: where the homeserver should send transactions (null: none, the service only sends). */
  readonly registrationUrl: string | null;
  readonly after: (ms: number, run: () => void) => void;
}

export class HomeserverContact {
  private accepted = false;
  private refusedWarned = false;

  constructor(private readonly d: HomeserverContactDeps) {}

  /**
   * A homeserver without the appservice ping (Dendrite, the Conduit family) cannot show at start-up that it reaches
   * us: say so, and warn if no transaction arrives within `waitMs` (a wrong registration url looks exactly like that).
   */
  watchForSilence(waitMs: number): void {
    const { logger, registrationUrl } = this.d;
    logger.warn("homeserver has no appservice ping: cannot check that it reaches this service", {
      registration_url: registrationUrl,
      warn_after_s: Math.round(waitMs / 1000),
    });
    this.d.after(waitMs, () => {
      if (this.accepted) return;
      logger.warn("no transaction from the homeserver since start-up", {
        minutes: Math.round(waitMs / 60_000),
        registration_url: registrationUrl,
        hint:
          "if anything happened in rooms meanwhile, the homeserver cannot reach this service: check the registration's " +
          `url and hs_token, and that the homeserver loaded it (${REGISTRATION_PLACES})`,
      });
    });
  }

  /** Every transaction request: accepted ones prove the homeserver reaches us; a wrong token means a stale registration. */
  onTransaction(accepted: boolean): void {
    if (accepted) {
      this.accepted = true;
      return;
    }
    if (this.refusedWarned) return;
    this.refusedWarned = true;
    this.d.logger.warn("refused a transaction with a token other than our hs_token", {
      hint:
        "if the homeserver sent it, it loaded a different registration: give it this service's registration file " +
        `and restart it (${REGISTRATION_PLACES})`,
    });
  }
}
