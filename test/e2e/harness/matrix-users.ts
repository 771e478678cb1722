// Matrix users for e2e tests: fresh localparts, registration (dummy auth or appservice), password login.
import { call, type Json, type MatrixSession } from "./matrix-http";

let userCounter = 0;

/** A fresh unique localpart for one test (`<prefix>-<time>-<n>`), lower-case as Matrix requires. */
export function uniqueLocalpart(prefix = "user"): string {
  userCounter += 1;
  return `${prefix}-${Date.now().toString(36)}-${userCounter}`.toLowerCase();
}

/** Registers with `m.login.dummy` (needs `enable_registration_without_verification`). */
export async function registerUser(
  baseUrl: string,
  opts: { username?: string; password?: string; deviceId?: string } = {},
): Promise<MatrixSession & { password: string }> {
  const username = opts.username ?? uniqueLocalpart();
  const password = opts.password ?? `pw-${username}`;
  const deviceId = opts.deviceId ?? "E2EDEVICE";
  const body = {
    username,
    password,
    device_id: deviceId,
    initial_device_display_name: deviceId,
    auth: { type: "m.login.dummy" },
  };
  const res = await call<{ user_id: string; access_token: string; device_id: string }>(
    baseUrl,
    "POST",
    "/_matrix/client/v3/register",
    body,
    {},
  );
  return { baseUrl, userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id, password };
}

/** Registers a user inside an appservice's namespace (`m.login.application_service`). */
export async function registerAppserviceUser(
  baseUrl: string,
  asToken: string,
  localpart: string,
): Promise<string> {
  const body = { type: "m.login.application_service", username: localpart, inhibit_login: true };
  const res = await call<{ user_id: string }>(
    baseUrl,
    "POST",
    "/_matrix/client/v3/register",
    body,
    {},
    asToken,
  );
  return res.user_id;
}

export async function login(
  baseUrl: string,
  user: string,
  password: string,
  deviceId?: string,
): Promise<MatrixSession> {
  const body: Json = { type: "m.login.password", identifier: { type: "m.id.user", user }, password };
  if (deviceId !== undefined) body["device_id"] = deviceId;
  const res = await call<{ user_id: string; access_token: string; device_id: string }>(
    baseUrl,
    "POST",
    "/_matrix/client/v3/login",
    body,
    {},
  );
  return { baseUrl, userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id };
}
