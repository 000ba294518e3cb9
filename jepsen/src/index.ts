/**
 * @cairn/jepsen: client histories, linearizability and other checkers, the
 * nemesis vocabulary and the HTML report. Everything exported here except
 * `writeReport` and the CLI command is pure and depends only on `effect`.
 */
export * from "./history/op.ts"
export * from "./history/edn.ts"
export * from "./history/formats.ts"
export * from "./history/dsl.ts"
export * from "./history/generate.ts"
export * from "./checker/model.ts"
export * from "./checker/wgl.ts"
export * from "./checker/linearizability.ts"
export * from "./checker/check-history.ts"
export * from "./checker/brute-force.ts"
export * from "./checker/set.ts"
export * from "./checker/counter.ts"
export * from "./checker/durability.ts"
export * from "./checker/log.ts"
export * from "./model/history-model.ts"
export * from "./model/intern.ts"
export * from "./model/register.ts"
export * from "./model/kv.ts"
export * from "./model/collections.ts"
export * from "./model/registry.ts"
export * from "./nemesis/fault.ts"
export * from "./nemesis/schedule.ts"
export * from "./report/html.ts"
