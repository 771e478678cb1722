// The one config schema: the source of the config's TypeScript type, its validation, its defaults and its docs.
import { validate as isValidCron } from "node-cron";
import { z } from "zod";
import { checkDeployments, checkWebhookSecrets } from "./deployment-checks";
import { duration } from "./duration";

const cron = (description: string) =>
  z
    .string()
    .refine((expr) => isValidCron(expr), { message: "not a valid cron expression (node-cron syntax)" })
    .describe(description);

const userId = z.string().regex(/^@[^:\s]+:\S+$/, "expected a Matrix user id such as @admin:example.org");

const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http:// or https:// URL" });

/** LiveKit refuses to start with a key whose secret is shorter than 32 characters, so no such key can exist. */
const LIVEKIT_SECRET_MIN = 32;
const livekitSecret = z
  .string()
  .min(
    LIVEKIT_SECRET_MIN,
    `shorter than ${LIVEKIT_SECRET_MIN} characters: LiveKit refuses such secrets, so this cannot be one of its keys`,
  );

const deployment = z
  .strictObject({
    name: z.string().min(1).describe("A short name for logs, metrics and commands."),
    service_urls: z
      .array(httpUrl)
      .min(1)
      .describe(
        "The `livekit_service_url`s (MatrixRTC JWT service URLs, as advertised in .well-known `org.matrix.msc4143.rtc_foci`) whose calls run on this LiveKit server.",
      ),
    api_url: httpUrl.describe("The LiveKit server's HTTP API URL, e.g. http://127.0.0.1:7880."),
    api_key: z
      .string()
      .min(1)
      .describe("A LiveKit API key (one of the server's `keys`). May come from `api_key_file`."),
    api_secret: livekitSecret.describe(
      "The secret of that key (LiveKit requires at least 32 characters); verifies webhooks and signs API calls. May come from `api_secret_file`.",
    ),
    webhook_keys: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "Further API keys this server may sign webhooks with (their secrets under `webhook_secrets`).",
      ),
    webhook_secrets: z
      .record(z.string(), livekitSecret)
      .default({})
      .describe("Secrets of `webhook_keys`, by key."),
  })
  .superRefine(checkWebhookSecrets)
  .describe("One LiveKit deployment the service holds API keys for.");

export const configSchema = z
  .strictObject({
    homeserver: z
      .strictObject({
        url: httpUrl.describe("Client-server API URL of the homeserver, as the service reaches it."),
        domain: z.string().min(1).describe("The homeserver's server name (the part after ':' in user ids)."),
        startup_timeout: duration(
          "How long start-up keeps retrying to reach the homeserver before giving up.",
        ).prefault("60s"),
      })
      .describe("The homeserver this appservice is registered with."),
    appservice: z
      .strictObject({
        bind_address: z
          .string()
          .min(1)
          .default("127.0.0.1")
          .describe("Address the appservice listener binds to."),
        port: z.number().int().min(1).max(65535).default(9000).describe("Port of the appservice listener."),
        registration: z
          .string()
          .min(1)
          .default("registration.yaml")
          .describe("Path of the registration file (also given by the CLI's -f)."),
      })
      .prefault({})
      .describe("The HTTP listener the homeserver and LiveKit talk to (/health and /ready live here too)."),
    database: z
      .strictObject({
        path: z.string().min(1).default("./data/matrix-rtc-reconciler.db").describe("SQLite database file."),
      })
      .prefault({})
      .describe("Where state, history and the audit log are kept."),
    livekit: z
      .strictObject({
        webhook_path: z
          .string()
          .regex(/^\/[A-Za-z0-9/_.-]*$/, "expected an absolute URL path such as /livekit/webhook")
          .default("/livekit/webhook")
          .describe("Path on the appservice listener that LiveKit's `webhook.urls` point at."),
        webhook_max_body: z
          .number()
          .int()
          .min(1024)
          .default(1_048_576)
          .describe("Largest webhook body accepted, in bytes; larger ones get 413."),
        webhook_clock_tolerance: duration(
          "How far LiveKit's clock may differ from ours when checking a webhook's signed validity window (replays are caught by webhook id).",
        ).prefault("60s"),
        deployments: z
          .array(deployment)
          .superRefine(checkDeployments)
          .default([])
          .describe(
            "LiveKit servers whose API keys the service holds. Calls on other SFUs are judged by expiry only.",
          ),
      })
      .prefault({})
      .describe("LiveKit servers and their webhooks."),
    reconciliation: z
      .strictObject({
        dry_run: z
          .boolean()
          .default(true)
          .describe(
            "Decide, log and record, but write nothing. Start with true; set false once the logs look right.",
          ),
        sfu_leave_grace: duration(
          "How long a member must stay absent from the SFU before it is a ghost, when LiveKit gives no reason (a poll found it gone) or one that says nothing of reachability. A participant LiveKit timed out (CONNECTION_TIMEOUT) is a ghost at once.",
        ).prefault("5s"),
        client_leave_grace: duration(
          "How long after a participant hung up on the SFU (CLIENT_INITIATED) its Matrix membership may stay before it is a ghost: the client is usually sending its own leave.",
        ).prefault("2s"),
        connect_grace: duration("How long a new member may take to connect to the SFU.").prefault("60s"),
        max_age_without_expiry: duration(
          "Memberships whose format has no expiry (seed m.rtc.member state) count as expired after this age; 0 = never.",
        ).prefault("0"),
        sfu_view_max_age: duration(
          "A LiveKit deployment not polled successfully for this long is 'stale': nobody on it is judged by SFU absence.",
        ).prefault("60s"),
        orphan_participant_grace: duration(
          "How long an SFU participant may have no matching membership before it is reported.",
        ).prefault("2m"),
        clear_concurrency: z
          .number()
          .int()
          .min(1)
          .max(64)
          .default(4)
          .describe("Clears run at most this many at once."),
        false_positive_backoff: duration(
          "After a wrong clear, SFU-based clearing of that device waits this long, doubling each time.",
        ).prefault("5m"),
        false_positive_backoff_max: duration("Upper bound of that back-off.").prefault("24h"),
        actions: z
          .strictObject({
            fire_delayed_leave: z
              .boolean()
              .default(true)
              .describe("Send the user's own pending delayed leave."),
            write_as_user: z
              .boolean()
              .default(true)
              .describe("Write the leave as the (local) user via masquerade."),
            write_as_bot: z
              .boolean()
              .default(true)
              .describe("Overwrite non-owned keys (`_@…`) with the bot's power level, for remote users too."),
            remove_orphan_participants: z
              .boolean()
              .default(false)
              .describe("Remove SFU participants that have had no membership past the orphan grace."),
          })
          .prefault({})
          .describe("Which clearing methods are enabled, least invasive first."),
      })
      .prefault({})
      .describe("How ghosts are judged and cleared."),
    commands: z
      .strictObject({
        prefix: z.string().min(1).default("!rtc").describe("Messages starting with this are commands."),
        admins: z.array(userId).default([]).describe("Users who may run admin commands in any room."),
        moderator_power_level: z
          .number()
          .int()
          .default(50)
          .describe("Room power level from which a user may run moderator commands (clean, end, kick)."),
        accept_invites_from: z
          .enum(["anyone", "local", "admins"])
          .default("local")
          .describe("Whose room invites the bot accepts: anyone, users of this homeserver, or admins only."),
        rate_limit_per_minute: z
          .number()
          .int()
          .min(1)
          .default(10)
          .describe("Commands answered per room per minute."),
        max_command_age: duration(
          "clean, end and kick reaching the service later than this after the homeserver received them are not run (the sender is told); 0 = no limit.",
        ).prefault("5m"),
      })
      .prefault({})
      .describe("Bot commands in rooms."),
    encryption: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            "Give the bot an end-to-end encrypted device: it decrypts commands in encrypted rooms and answers them encrypted. Off: a message in an encrypted room only gets a notice saying where to ask instead.",
          ),
        store_path: z
          .string()
          .min(1)
          .default("./data/crypto")
          .describe(
            "Directory of the bot's encryption state: its current device (logged out when replaced) and its cross-signing keys. Holds secrets: created with mode 0700, files 0600.",
          ),
        key_wait: duration(
          "How long an encrypted command waits for its room key (sent to the bot's device separately) before the room is told it cannot be read.",
        ).prefault("15s"),
      })
      .prefault({})
      .describe("The bot's end-to-end encryption (encrypted rooms)."),
    history: z
      .strictObject({
        retention: duration(
          "Call history older than this is pruned (daily totals are kept); 0 = keep forever.",
        ).prefault("90d"),
      })
      .prefault({})
      .describe("Call history kept in the database."),
    rooms: z
      .strictObject({
        evict_after: duration(
          "A room whose calls ended (and that the bot is not in) is forgotten this long after, checked once a minute: its call state, its room events and its row leave memory and the database (its call history stays). Its next call event brings it back, and its state is read again.",
        ).prefault("1h"),
      })
      .prefault({})
      .describe(
        "Which rooms the service follows: those with a call now or lately, and those the bot is in. Room events of other rooms are not kept.",
      ),
    logging: z
      .strictObject({
        level: z.enum(["error", "warn", "info", "debug"]).default("info").describe("Lowest level written."),
        format: z
          .enum(["auto", "json", "text"])
          .default("auto")
          .describe(
            "auto: text when stdout is a terminal, else json; json: one JSON object per line (for collectors); text: one readable line per entry.",
          ),
      })
      .prefault({})
      .describe("Logs go to stdout."),
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true).describe("Serve Prometheus metrics on their own listener."),
        bind_address: z.string().min(1).default("127.0.0.1").describe("Address of the metrics listener."),
        port: z.number().int().min(1).max(65535).default(9101).describe("Port of the metrics listener."),
      })
      .prefault({})
      .describe("Prometheus metrics at /metrics."),
    schedules: z
      .strictObject({
        sweep: cron(
          "When rooms touched since the last look or due (a grace ended, a membership expired, a retry is due) are judged, and lapsed sticky memberships end. Due rooms are also judged at their instant.",
        ).default("*/10 * * * * *"),
        poll: cron(
          "When every LiveKit deployment is asked for its rooms and participants; every tracked room is then judged again, a slice per turn of the event loop.",
        ).default("*/15 * * * * *"),
        resync: cron("When room state is read again from the homeserver.").default("0 */30 * * * *"),
        retention: cron("When old history is pruned.").default("17 3 * * *"),
      })
      .prefault({})
      .describe("Periodic jobs (node-cron expressions; six fields = with seconds)."),
  })
  .describe("matrix-rtc-reconciler configuration");

/** The validated configuration, durations in milliseconds. */
export type Config = z.output<typeof configSchema>;
/** What a config file may contain before defaults and parsing. */
export type ConfigInput = z.input<typeof configSchema>;
/** One LiveKit deployment, validated. */
export type DeploymentConfig = Config["livekit"]["deployments"][number];
