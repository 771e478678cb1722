// Values a valid config may hold but that are surely a mistake (the sample's placeholders): warned about, never echoed.
import type { Config } from "./schema";

/** A value left as the sample (or a tutorial) wrote it: `change-me…` secrets, `example.org`-style names. */
const PLACEHOLDER_SECRET = /^change[-_ ]?me/i;

/** Domains reserved for documentation (RFC 2606): no homeserver or JWT service of yours lives there. */
function isExampleDomain(host: string): boolean {
  return /(^|\.)example\.(org|com|net)$/i.test(host);
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return "";
  }
}

/** Each warning names its path and what to do; secrets are never quoted. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (isExampleDomain(config.homeserver.domain)) {
    warnings.push(
      `homeserver.domain: ${config.homeserver.domain} is the sample's placeholder; give your server name (the part after ':' in your user ids)`,
    );
  }
  config.livekit.deployments.forEach((d, i) => {
    const at = `livekit.deployments.${i}`;
    if (PLACEHOLDER_SECRET.test(d.api_secret)) {
      warnings.push(
        `${at}.api_secret: still the sample's placeholder; give the secret of LiveKit's key ${JSON.stringify(d.api_key)} (or api_secret_file)`,
      );
    }
    for (const [key, secret] of Object.entries(d.webhook_secrets)) {
      if (PLACEHOLDER_SECRET.test(secret))
        warnings.push(
          `${at}.webhook_secrets.${key}: still a placeholder; give the secret of that LiveKit key`,
        );
    }
    d.service_urls.forEach((url, j) => {
      if (isExampleDomain(hostOf(url)))
        warnings.push(
          `${at}.service_urls.${j}: ${url} is the sample's placeholder; list the livekit_service_url your clients use (your MatrixRTC JWT service)`,
        );
    });
  });
  return warnings;
}
