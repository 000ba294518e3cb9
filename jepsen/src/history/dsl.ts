/**
 * A terse history notation for tests and docs, one event per line:
 * `PROCESS TYPE F VALUE`, e.g. `0 invoke write 1`, `1 ok read [1 2]`,
 * `2 invoke cas [1 2]`. VALUE is EDN (default nil).
 */
import { readAll } from "./edn.ts"
import type { Op } from "./op.ts"
import { HistoryError, isOpType } from "./op.ts"

export const parseDsl = (text: string): Array<Op> => {
  const ops: Array<Op> = []
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (line === "" || line.startsWith("#")) continue
    const m = /^(\S+)\s+(\S+)\s+(\S+)\s*(.*)$/.exec(line)
    if (m === null || !isOpType(m[2])) throw new HistoryError({ message: `bad history line: ${line}` })
    const process = /^\d+$/.test(m[1]!) ? Number(m[1]) : m[1]!
    ops.push({ index: ops.length, process, type: m[2], f: m[3]!, value: readAll(m[4]!)[0] ?? null })
  }
  return ops
}
