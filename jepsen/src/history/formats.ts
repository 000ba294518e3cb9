/**
 * Reading and writing histories: JSON lines (one op object per line), Jepsen's
 * `history.edn` (one op map per line, or one vector of maps), and the two
 * Porcupine test-data formats: etcd Jepsen logs (`INFO  jepsen.util - P :type
 * :f value`) and kv logs (one EDN map per line with `:key`).
 */
import { readAll } from "./edn.ts"
import type { Op, Value } from "./op.ts"
import { HistoryError, isOpType } from "./op.ts"

const stripColon = (s: string) => (s.startsWith(":") ? s.slice(1) : s)

/** Builds an Op from a decoded map (EDN or JSON); `index` defaults to its position. */
export const opFromValue = (v: Value, position: number): Op => {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new HistoryError({ message: `op ${position} is not a map: ${JSON.stringify(v)}` })
  }
  const m = v as { readonly [k: string]: Value }
  const type = typeof m["type"] === "string" ? stripColon(m["type"]) : undefined
  if (!isOpType(type)) throw new HistoryError({ message: `op ${position} has no valid :type` })
  const rawProcess = m["process"]
  const process =
    typeof rawProcess === "number"
      ? rawProcess
      : typeof rawProcess === "string"
        ? /^\d+$/.test(stripColon(rawProcess))
          ? Number(stripColon(rawProcess))
          : stripColon(rawProcess)
        : undefined
  if (process === undefined) throw new HistoryError({ message: `op ${position} has no :process` })
  const f = m["f"]
  const time = m["time"]
  const index = m["index"]
  return {
    index: typeof index === "number" ? index : position,
    process,
    type,
    f: typeof f === "string" ? stripColon(f) : JSON.stringify(f ?? null),
    value: m["value"] ?? null,
    ...(typeof time === "number" ? { time } : {}),
    ...("key" in m ? { key: m["key"] ?? null } : {}),
    ...("error" in m ? { error: m["error"] ?? null } : {})
  }
}

/** Histories are ordered by `index`; ops read without one get their position. */
const ordered = (ops: Array<Op>): Array<Op> => {
  for (let i = 1; i < ops.length; i++) {
    if (ops[i]!.index <= ops[i - 1]!.index) return ops.map((op, index) => ({ ...op, index }))
  }
  return ops
}

export const parseJsonLines = (text: string): Array<Op> => {
  const ops: Array<Op> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === "") continue
    let v: Value
    try {
      v = JSON.parse(line) as Value
    } catch (e) {
      throw new HistoryError({ message: `line ${i + 1}: ${String(e)}` })
    }
    ops.push(opFromValue(v, ops.length))
  }
  return ordered(ops)
}

export const toJsonLines = (ops: ReadonlyArray<Op>): string => ops.map((op) => JSON.stringify(op)).join("\n") + "\n"

/** Jepsen `history.edn`: op maps, one per line or all inside one vector. */
export const parseEdnHistory = (text: string): Array<Op> => {
  const forms = readAll(text)
  const maps = forms.length === 1 && Array.isArray(forms[0]) ? (forms[0] as ReadonlyArray<Value>) : forms
  return ordered(maps.map((m, i) => opFromValue(m, i)))
}

/**
 * Porcupine's etcd logs. Only `INFO jepsen.util - ` lines are ops; other lines
 * (the full 2015 Jepsen logs have many) are skipped.
 */
export const parseEtcdLog = (text: string): Array<Op> => {
  const ops: Array<Op> = []
  const re = /jepsen\.util - (\S+)\s+:(invoke|ok|fail|info)\s+:(\S+)\s*(.*)$/
  for (const line of text.split("\n")) {
    const m = re.exec(line)
    if (m === null) continue
    const [, p, type, f, rest] = m
    if (!/^\d+$/.test(p!)) continue // the nemesis
    const forms = readAll(rest!)
    ops.push({ index: ops.length, process: Number(p), type: type as Op["type"], f: f!, value: forms[0] ?? null })
  }
  return ops
}

/** Porcupine's kv logs: `{:process P, :type T, :f F, :key "K", :value V}` per line. */
export const parseKvLog = (text: string): Array<Op> => parseEdnHistory(text)

export type HistoryFormat = "auto" | "json" | "edn" | "etcd-log" | "kv-log"

/** Picks a format from the first non-blank line. */
export const detectFormat = (text: string): Exclude<HistoryFormat, "auto"> => {
  const first = text.split("\n").find((l) => l.trim() !== "")?.trim() ?? ""
  if (first.startsWith("{\"") || first.startsWith("[{\"")) return "json"
  if (/jepsen\.util - /.test(text.slice(0, 10_000))) return "etcd-log"
  if (/:key\s/.test(first)) return "kv-log"
  return "edn"
}

export const parseHistory = (text: string, format: HistoryFormat = "auto"): Array<Op> => {
  const f = format === "auto" ? detectFormat(text) : format
  switch (f) {
    case "json":
      return text.trimStart().startsWith("[")
        ? ordered((JSON.parse(text) as Array<Value>).map((v, i) => opFromValue(v, i)))
        : parseJsonLines(text)
    case "edn":
      return parseEdnHistory(text)
    case "etcd-log":
      return parseEtcdLog(text)
    case "kv-log":
      return parseKvLog(text)
  }
}
