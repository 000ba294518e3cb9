/**
 * @cairn/sim: the deterministic simulator. Whole clusters in one process on
 * virtual time, one seed driving every choice, faults injected everywhere the
 * architecture brief allows them.
 */
export * from "./scheduler.ts"
export * from "./trace.ts"
export * from "./fault-counter.ts"
export * from "./process.ts"
export * from "./clock.ts"
export * from "./disk.ts"
export * from "./network.ts"
export * from "./inbox.ts"
export * from "./cluster.ts"
export * from "./swarm.ts"
export * from "./nemesis.ts"
export * from "./run.ts"
export * from "./workload/durable-ping.ts"
