/** Atomic, checksummed snapshots: see docs/storage-engine.md. */
export * from "./snapshot-store.ts"
