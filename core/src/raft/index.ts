/** Raft consensus: the pure state machine, its codec and storage, and the Effect driver. See docs/raft.md. */
export * from "./types.ts"
export * from "./membership.ts"
export * from "./log.ts"
export * from "./raft.ts"
export * from "./codec.ts"
export * from "./storage.ts"
export * from "./node.ts"
