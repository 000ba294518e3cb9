/**
 * The built-in models by name, as the CLI and the simulator refer to them.
 * Each call makes a fresh instance (models hold interning tables).
 */
import type { Value } from "../history/op.ts"
import { listAppend, queue, set } from "./collections.ts"
import type { AnyHistoryModel } from "./history-model.ts"
import { kv } from "./kv.ts"
import { casRegister, register } from "./register.ts"

export const modelNames = ["register", "cas-register", "kv", "list-append", "set", "queue"] as const
export type ModelName = (typeof modelNames)[number]

export interface ModelOptions {
  readonly initial?: Value
  readonly failedCas?: "did-not-happen" | "compare-failed"
}

export const isModelName = (s: string): s is ModelName => (modelNames as ReadonlyArray<string>).includes(s)

export const makeModel = (name: ModelName, options: ModelOptions = {}): AnyHistoryModel => {
  const m = (() => {
    switch (name) {
      case "register":
        return register(options)
      case "cas-register":
        return casRegister(options)
      case "kv":
        return kv(options)
      case "list-append":
        return listAppend()
      case "set":
        return set()
      case "queue":
        return queue()
    }
  })()
  return m as unknown as AnyHistoryModel
}

/**
 * The model options a history format implies: Porcupine's etcd logs mean
 * "compare failed" by a failed CAS, and its kv logs start every key at "".
 */
export const optionsForFormat = (format: string): ModelOptions =>
  format === "etcd-log" ? { failedCas: "compare-failed" } : format === "kv-log" ? { initial: "" } : {}
