// Sends what the crypto machine asks the homeserver (key upload, query, claim, to-device, signatures) as the bot's device.
import {
  KeysBackupRequest,
  KeysClaimRequest,
  KeysQueryRequest,
  KeysUploadRequest,
  type OlmMachine,
  RoomMessageRequest,
  SignatureUploadRequest,
  ToDeviceRequest,
  UploadSigningKeysRequest,
} from "@matrix-org/matrix-sdk-crypto-wasm";
import { type MatrixHttp, seg } from "../matrix/http";

/** Any request the machine hands out, and the two the bootstrap of cross-signing makes. */
export type AnyRequest =
  | KeysUploadRequest
  | KeysQueryRequest
  | KeysClaimRequest
  | ToDeviceRequest
  | SignatureUploadRequest
  | RoomMessageRequest
  | KeysBackupRequest
  | UploadSigningKeysRequest;

const parse = (body: string): unknown => JSON.parse(body) as unknown;

/** Sends one request; returns the homeserver's answer as JSON text (what `markRequestAsSent` wants). */
export async function send(http: MatrixHttp, r: AnyRequest): Promise<string> {
  const post = (path: string) => http.request<unknown>("POST", path, { body: parse(r.body) });
  let res: unknown;
  if (r instanceof KeysUploadRequest) res = await post("/_matrix/client/v3/keys/upload");
  else if (r instanceof KeysQueryRequest) res = await post("/_matrix/client/v3/keys/query");
  else if (r instanceof KeysClaimRequest) res = await post("/_matrix/client/v3/keys/claim");
  else if (r instanceof SignatureUploadRequest) res = await post("/_matrix/client/v3/keys/signatures/upload");
  else if (r instanceof UploadSigningKeysRequest)
    res = await post("/_matrix/client/v3/keys/device_signing/upload");
  else if (r instanceof ToDeviceRequest)
    res = await http.request("PUT", `/_matrix/client/v3/sendToDevice/${seg(r.event_type)}/${seg(r.txn_id)}`, {
      body: parse(r.body),
    });
  else if (r instanceof RoomMessageRequest)
    res = await http.request(
      "PUT",
      `/_matrix/client/v3/rooms/${seg(r.room_id)}/send/${seg(r.event_type)}/${seg(r.txn_id)}`,
      { body: parse(r.body) },
    );
  else
    res = await http.request("PUT", "/_matrix/client/v3/room_keys/keys", {
      body: parse(r.body),
      query: { version: r.version },
    });
  return JSON.stringify(res ?? {});
}

/**
 * Sends the machine's pending requests one at a time and reports each answer back. Calls are serialised: the
 * machine must not hand out or mark requests from two loops at once.
 */
export class OutgoingQueue {
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly machine: OlmMachine,
    private readonly http: MatrixHttp,
  ) {}

  /** Sends everything pending now (and what those answers make pending), after any run already going. */
  flush(): Promise<void> {
    const next = this.running.then(() => this.drain());
    this.running = next.catch(() => undefined);
    return next;
  }

  /** Sends one request outside the machine's queue (to-device shares, signatures), serialised with the rest. */
  sendNow(r: AnyRequest): Promise<string> {
    const next = this.running.then(async () => {
      const answer = await send(this.http, r);
      if (r instanceof ToDeviceRequest || r instanceof RoomMessageRequest || r instanceof KeysClaimRequest)
        await this.machine.markRequestAsSent(r.id, r.type, answer);
      return answer;
    });
    this.running = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private async drain(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const requests = (await this.machine.outgoingRequests()) as AnyRequest[];
      if (requests.length === 0) return;
      for (const r of requests) {
        const answer = await send(this.http, r);
        const id = "id" in r ? r.id : undefined;
        if (id !== undefined && "type" in r) await this.machine.markRequestAsSent(id, r.type, answer);
      }
    }
  }
}
