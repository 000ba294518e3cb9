/**
 * Saving benchmark results: one JSON file per run under `bench/results/`,
 * named by benchmark and time, with the machine it ran on.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, totalmem } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "results")

export interface BenchResult {
  readonly benchmark: string
  /** What was measured, how, and what the baseline is. */
  readonly scenario: string
  readonly rows: ReadonlyArray<Record<string, string | number | boolean | null>>
}

/** Writes `result` to `bench/results/NAME-<timestamp>.json` and `NAME-latest.json`; returns the path. */
export const saveResult = (result: BenchResult): string => {
  mkdirSync(resultsDir, { recursive: true })
  const stamped = {
    ...result,
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryBytes: totalmem()
  }
  const text = JSON.stringify(stamped, null, 2) + "\n"
  const path = join(resultsDir, `${result.benchmark}-${stamped.date.replace(/[:.]/g, "-")}.json`)
  writeFileSync(path, text)
  writeFileSync(join(resultsDir, `${result.benchmark}-latest.json`), text)
  return path
}

/** Prints rows as an aligned table. */
export const printTable = (rows: ReadonlyArray<Record<string, string | number | boolean | null>>): void => {
  if (rows.length === 0) return
  const columns = Object.keys(rows[0]!)
  const cell = (v: unknown) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v))
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)))
  const line = (values: ReadonlyArray<string>) => values.map((v, i) => v.padStart(widths[i]!)).join("  ")
  process.stdout.write(line(columns) + "\n")
  for (const row of rows) process.stdout.write(line(columns.map((c) => cell(row[c]))) + "\n")
}
