// Placeholder for @matrix-org/matrix-sdk-crypto-nodejs: the service runs without end-to-end encryption.
"use strict";
const refuse = (name) => {
  throw new Error(
    `E2EE not supported: matrix-rtc-reconciler does not ship the Matrix crypto binding (touched "${String(name)}")`,
  );
};
const StoreType = Object.freeze({ Sled: 0, Sqlite: 1 });
module.exports = new Proxy(
  { StoreType },
  {
    get(target, name) {
      if (name === "StoreType") return target.StoreType;
      if (name === "__esModule" || typeof name === "symbol" || name === "then") return undefined;
      return refuse(name);
    },
  },
);
