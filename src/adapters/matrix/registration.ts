// The appservice registration: generate one (random id and tokens) and read one back, validated.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { stringify as stringifyYaml } from "yaml";
import { z } from "zod";
import { readYaml } from "../../config/yaml";

const namespace = z.strictObject({ exclusive: z.boolean(), regex: z.string().min(1) });

/** The registration file as Synapse reads it (`app_service_config_files`). */
export const registrationSchema = z.object({
  id: z.string().min(1),
  url: z.string().nullable(),
  as_token: z.string().min(16),
  hs_token: z.string().min(16),
  sender_localpart: z.string().min(1),
  rate_limited: z.boolean().optional(),
  "de.sorunome.msc2409.push_ephemeral": z.boolean().optional(),
  /** MSC3202: device lists and one-time key counts in transactions, for the bot's encrypted device. */
  "org.matrix.msc3202": z.boolean().optional(),
  namespaces: z.object({
    users: z.array(namespace).default([]),
    rooms: z.array(namespace).default([]),
    aliases: z.array(namespace).default([]),
  }),
});

export type Registration = z.output<typeof registrationSchema>;

export interface GenerateOptions {
  readonly url: string;
  readonly localpart: string;
  /** Server name for the user regexes; null writes a regex that matches any server (Synapse only masquerades its own users). */
  readonly domain: string | null;
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Builds a registration: the bot exclusive, every local user non-exclusive (so the service may act for them), all
 * rooms. Ephemeral events (typing, receipts, presence) are not asked for: nothing here reads them, and on a busy
 * homeserver they would be most of what is sent.
 */
export function generateRegistration(opts: GenerateOptions): Registration {
  const server = opts.domain === null ? ".+" : escapeRegex(opts.domain);
  return {
    id: `matrix-rtc-reconciler-${randomBytes(6).toString("hex")}`,
    url: opts.url,
    as_token: randomBytes(32).toString("hex"),
    hs_token: randomBytes(32).toString("hex"),
    sender_localpart: opts.localpart,
    rate_limited: false,
    "de.sorunome.msc2409.push_ephemeral": true,
    "org.matrix.msc3202": true,
    namespaces: {
      users: [
        { exclusive: true, regex: `@${escapeRegex(opts.localpart)}:${server}` },
        { exclusive: false, regex: `@.*:${server}` },
      ],
      rooms: [{ exclusive: false, regex: ".*" }],
      aliases: [],
    },
  };
}

/** YAML for a registration, with a header saying what it is and how to use it. */
export function registrationToYaml(reg: Registration): string {
  const header = [
    "# matrix-rtc-reconciler appservice registration.",
    "# Add this file's path to Synapse's `app_service_config_files` and restart Synapse.",
    "# The tokens are secrets: keep this file readable by Synapse and the service only.",
    "",
  ].join("\n");
  return header + stringifyYaml(reg, { lineWidth: 0 });
}

/** Reads and validates a registration file; throws an Error naming the file and every problem. */
export function loadRegistration(file: string): Registration {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = typeof err === "object" && err !== null && "code" in err ? String(err.code) : String(err);
    throw new Error(`cannot read registration ${file} (${code})`);
  }
  // The file holds both tokens: a YAML problem names its position, never the line.
  const yaml = readYaml(text);
  if (!yaml.ok) throw new Error(`invalid registration ${file}:\n  - ${yaml.problems.join("\n  - ")}`);
  const result = registrationSchema.safeParse(yaml.value);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`,
    );
    throw new Error(`invalid registration ${file}:\n  - ${problems.join("\n  - ")}`);
  }
  return result.data;
}

/**
 * What the registration lacks for the bot's encrypted device: to-device messages come only with ephemeral
 * events (MSC2409), device lists and one-time-key counts only with MSC3202. Empty when nothing is missing.
 */
export function encryptionGaps(reg: {
  readonly "de.sorunome.msc2409.push_ephemeral"?: unknown;
  readonly "org.matrix.msc3202"?: unknown;
}): string[] {
  return [
    ...(reg["de.sorunome.msc2409.push_ephemeral"] === true
      ? []
      : ["de.sorunome.msc2409.push_ephemeral: true"]),
    ...(reg["org.matrix.msc3202"] === true ? [] : ["org.matrix.msc3202: true"]),
  ];
}

/** The users the service may act for (non-exclusive and exclusive user namespaces). */
export function userNamespaceMatcher(reg: Registration): (userId: string) => boolean {
  const patterns = reg.namespaces.users.map((ns) => new RegExp(`^(?:${ns.regex})$`));
  return (userId) => patterns.some((p) => p.test(userId));
}
