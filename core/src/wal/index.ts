/** The per-node write-ahead log: see docs/storage-engine.md. */
export * from "./format.ts"
export * from "./scan.ts"
export * from "./sync-strategy.ts"
export * from "./wal.ts"
export * from "./wal-error.ts"
