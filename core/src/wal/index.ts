/** The per-node write-ahead log: see docs/storage-engine.md. Format internals stay in format.ts and scan.ts. */
export * from "./sync-strategy.ts"
export * from "./wal.ts"
export * from "./wal-error.ts"
