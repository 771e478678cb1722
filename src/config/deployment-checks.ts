// Cross-field checks of `livekit.deployments`: names, API keys and service URLs are each used once, every webhook key has a secret.
import type { z } from "zod";
import { normaliseServiceUrl } from "../app/sfu/deployments";

/** The fields the checks read (the validated shape of one deployment). */
export interface DeploymentFields {
  readonly name: string;
  readonly service_urls: readonly string[];
  readonly api_key: string;
  readonly webhook_keys: readonly string[];
  readonly webhook_secrets: Readonly<Record<string, string>>;
}

type Path = (string | number)[];
type Ctx = z.RefinementCtx;

const LIST = "livekit.deployments";
const shown = (path: Path): string => [LIST, ...path].join(".");

/**
 * Reports each value seen before under another path. Values are never echoed (an API key name is not a secret,
 * but the message does not need it): the two paths say where to look.
 */
class FirstUse {
  private readonly seen = new Map<string, Path>();
  constructor(
    private readonly ctx: Ctx,
    private readonly what: string,
  ) {}

  note(value: string, path: Path): void {
    const first = this.seen.get(value);
    if (first === undefined) {
      this.seen.set(value, path);
      return;
    }
    this.ctx.addIssue({
      code: "custom",
      path,
      message: `the same ${this.what} as ${shown(first)}; each may appear once across all deployments`,
    });
  }
}

/**
 * Deployments are found by name (commands, metrics), by the key a webhook is signed with, and by service URL: a
 * second entry under the same name, key or URL would silently replace the first, so each is an error.
 */
export function checkDeployments(list: readonly DeploymentFields[], ctx: Ctx): void {
  const names = new FirstUse(ctx, "deployment name");
  const keys = new FirstUse(ctx, "API key");
  const urls = new FirstUse(ctx, "service URL");
  list.forEach((d, i) => {
    names.note(d.name, [i, "name"]);
    keys.note(d.api_key, [i, "api_key"]);
    d.webhook_keys.forEach((key, j) => {
      keys.note(key, [i, "webhook_keys", j]);
    });
    d.service_urls.forEach((url, j) => {
      urls.note(normaliseServiceUrl(url), [i, "service_urls", j]);
    });
  });
}

/** Every webhook key needs its secret, and every secret a listed key: otherwise that key's webhooks are refused. */
export function checkWebhookSecrets(d: DeploymentFields, ctx: Ctx): void {
  const listed = new Set(d.webhook_keys);
  d.webhook_keys.forEach((key, j) => {
    if (!Object.hasOwn(d.webhook_secrets, key))
      ctx.addIssue({
        code: "custom",
        path: ["webhook_keys", j],
        message: "this key has no secret under webhook_secrets",
      });
  });
  for (const key of Object.keys(d.webhook_secrets)) {
    if (!listed.has(key))
      ctx.addIssue({
        code: "custom",
        path: ["webhook_secrets", key],
        message: "this secret's key is not listed under webhook_keys",
      });
  }
}
