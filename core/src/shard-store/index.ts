/** Checksummed object shards and their scrubber: see docs/storage-engine.md. */
export * from "./scrubber.ts"
export * from "./shard-store.ts"
