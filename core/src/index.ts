/**
 * @cairn/core: pure protocol code over abstract services. Nothing here
 * touches the platform: time, randomness, disk and network arrive only as the
 * services below.
 */
export * from "./invariant/invariant.ts"
export * from "./node/node-id.ts"
export * from "./clock/clock.ts"
export * from "./random/random.ts"
export * from "./disk/disk.ts"
export * from "./disk/disk-error.ts"
export * from "./network/network.ts"
export * as Erasure from "./erasure/index.ts"
export * from "./checksum/crc32c.ts"
export * from "./checksum/crc32c-service.ts"
export * from "./wal/index.ts"
export * from "./snapshot/index.ts"
export * from "./shard-store/index.ts"
export * from "./kv/index.ts"
export * as Raft from "./raft/index.ts"
export * as Objects from "./object/index.ts"
