// Maps a membership's transport (its MatrixRTC JWT service URL) to the LiveKit deployment we hold keys for.
import type { Transport } from "../../domain/membership/model";

export interface DeploymentRef {
  readonly name: string;
  readonly serviceUrls: readonly string[];
}

/** URLs compare without trailing slashes and case-insensitively in scheme and host. */
export function normaliseServiceUrl(url: string): string {
  try {
    const u = new URL(url); // lower-cases scheme and host; path and query keep their case
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}${u.search}`;
  } catch {
    return url.trim().replace(/\/+$/, "");
  }
}

export class DeploymentDirectory {
  private readonly byUrl = new Map<string, string>();

  constructor(readonly deployments: readonly DeploymentRef[]) {
    for (const d of deployments)
      for (const url of d.serviceUrls) this.byUrl.set(normaliseServiceUrl(url), d.name);
  }

  /** The deployment serving this transport, or null (not LiveKit, no URL, or an SFU whose keys we lack). */
  forTransport(transport: Transport | null): string | null {
    if (transport === null || transport.type !== "livekit" || transport.livekitServiceUrl === null)
      return null;
    return this.byUrl.get(normaliseServiceUrl(transport.livekitServiceUrl)) ?? null;
  }

  names(): string[] {
    return this.deployments.map((d) => d.name);
  }

  /** Every service URL we serve, normalised (to compare with what the homeserver advertises). */
  serviceUrls(): string[] {
    return [...this.byUrl.keys()];
  }
}
