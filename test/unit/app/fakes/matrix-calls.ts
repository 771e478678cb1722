// The calls the fake homeserver records, one shape per MatrixPort method.
import type { Actor } from "../../../../src/app/ports/matrix";

export type MatrixCall =
  | { readonly method: "roomState"; readonly roomId: string; readonly as: Actor }
  | {
      readonly method: "stateEvent";
      readonly roomId: string;
      readonly type: string;
      readonly stateKey: string;
      readonly as: Actor;
    }
  | {
      readonly method: "putState";
      readonly roomId: string;
      readonly type: string;
      readonly stateKey: string;
      readonly content: object;
      readonly as: Actor;
    }
  | {
      readonly method: "sendEvent";
      readonly roomId: string;
      readonly type: string;
      readonly content: object;
      readonly as: Actor;
      readonly stickyDurationMs: number | null;
    }
  | { readonly method: "delayedEvents"; readonly userId: string }
  | {
      readonly method: "delayedEventAction";
      readonly delayId: string;
      readonly action: "send" | "cancel";
      readonly userId: string;
    }
  | { readonly method: "joinedRooms" }
  | { readonly method: "resolveAlias"; readonly alias: string }
  | { readonly method: "join"; readonly roomId: string }
  | { readonly method: "leave"; readonly roomId: string }
  | { readonly method: "sendNotice"; readonly roomId: string; readonly text: string; readonly html: string };

export type MatrixMethod = MatrixCall["method"];

export const WRITES: ReadonlySet<MatrixMethod> = new Set(["putState", "sendEvent", "delayedEventAction"]);
