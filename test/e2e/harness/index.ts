// The e2e harness: real Synapse, real LiveKit, real clients as child processes, webhook relay, Matrix HTTP helpers.
export * from "./appservice";
export * from "./children";
export type * from "./client-options";
export * from "./livekit";
export * from "./matrix-http";
export * from "./matrix-users";
export * from "./naming";
export * from "./paths";
export * from "./ports";
export * from "./processes";
export * from "./raw-memberships";
export * from "./relay";
export * from "./synapse";
export * from "./webhook-sink";
export * from "./reconciler";
export * from "./stack";
export * from "./scenario";
