// Types of the placeholder crypto binding: only what matrix-bot-sdk's type declarations import.
export declare enum StoreType {
  Sled = 0,
  Sqlite = 1,
}
