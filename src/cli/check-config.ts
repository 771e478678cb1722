// --check-config: the config's warnings, the registration it names, and what the homeserver must enable for it.
import { encryptionGaps, loadRegistration } from "../adapters/matrix/registration";
import { loadConfig } from "../config/load";
import type { Config } from "../config/schema";
import { configWarnings } from "../config/warnings";

/** Problems of the registration the config names, as far as they can be seen without the homeserver. */
function registrationWarnings(config: Config, file: string): string[] {
  let registration;
  try {
    registration = loadRegistration(file);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return [`appservice.registration: ${why}; write one with -r (docs/deployment.md)`];
  }
  const gaps = encryptionGaps(registration);
  if (!config.encryption.enabled || gaps.length === 0) return [];
  return [
    `appservice.registration: ${file} lacks ${gaps.join(" and ")}, which encryption.enabled needs (without them no room key reaches the bot's device): add them and restart the homeserver, or set encryption.enabled: false`,
  ];
}

/** What the homeserver must enable for this config; only a running service can check these (it does at start-up). */
export function homeserverNeeds(config: Config): string[] {
  const needs = [
    `load the registration (Synapse: app_service_config_files) and reach the service on port ${config.appservice.port}`,
  ];
  if (config.encryption.enabled)
    needs.push(
      "for encryption.enabled: experimental_features msc2409_to_device_messages_enabled: true and msc3202_transaction_extensions: true (Synapse), so room keys reach the bot's device",
    );
  if (config.reconciliation.actions.fire_delayed_leave)
    needs.push(
      "optional, for clients' own delayed leaves: delayed events (Synapse: max_event_delay_duration), which the service fires before writing a leave itself",
    );
  return needs;
}

/**
 * Checks a config file and its registration (`registrationFile`, else the one the config names); returns the
 * exit code. A ConfigError propagates.
 */
export function checkConfig(
  file: string,
  registrationFile: string | undefined,
  print: (line: string) => void,
  warn: (line: string) => void,
): number {
  const config = loadConfig(file);
  const registration = registrationFile ?? config.appservice.registration;
  const warnings = [...configWarnings(config), ...registrationWarnings(config, registration)];
  for (const w of warnings) warn(`warning: ${w}`);
  print(`${file}: OK${warnings.length > 0 ? `, with ${warnings.length} warning(s) above` : ""}`);
  print("The homeserver must also (checked when the service starts, not here):");
  for (const need of homeserverNeeds(config)) print(`  - ${need}`);
  return 0;
}
