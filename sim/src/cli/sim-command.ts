/**
 * `cairn sim`: run one seed, or a campaign over a range of seeds, and say
 * what happened. Exits 1 if any seed fails, printing the command that replays
 * it.
 *
 *   cairn sim --seed 42            one seed, with its drawn configuration
 *   cairn sim --seeds 1..1000      a campaign with a progress bar and a summary
 *   cairn sim --seeds 1..50 --json one JSON object per seed
 */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import cliProgress from "cli-progress"
import { minimize } from "../minimize.ts"
import { plantedBugs, type RunOptions, type RunResult } from "../run.ts"
import { runCampaign } from "../campaign.ts"
import { faultKinds, type FaultKind } from "../swarm.ts"
import { SimUsageError } from "./usage-error.ts"
import { writeRunReport } from "./run-report.ts"
import { join } from "node:path"

/** Parses "A..B" (inclusive) or a single "N". */
export const parseSeedRange = (text: string): { readonly from: number; readonly to: number } | undefined => {
  const match = /^(\d+)(?:\.\.(\d+))?$/.exec(text.trim())
  if (match === null) return undefined
  const from = Number(match[1])
  const to = match[2] === undefined ? from : Number(match[2])
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from) return undefined
  return { from, to }
}

/** Parses a comma-separated list of fault kinds; "none" is the empty list. */
export const parseFaultKinds = (text: string): ReadonlyArray<FaultKind> | string => {
  if (text.trim() === "none" || text.trim() === "") return []
  const kinds = text.split(",").map((k) => k.trim())
  const unknown = kinds.filter((k) => !(faultKinds as ReadonlyArray<string>).includes(k))
  if (unknown.length > 0) return `unknown fault kind ${unknown.join(", ")}; known kinds: ${faultKinds.join(", ")}`
  return kinds as ReadonlyArray<FaultKind>
}

const describe = (r: RunResult): string => {
  const lines = [
    `seed ${r.seed}: ${r.result.toUpperCase()}  nodes=${r.config.nodes}${r.config.raftMaxBytesPerMessage === undefined ? "" : ` raft-message-bytes=${r.config.raftMaxBytesPerMessage}`} simulated=${r.simulatedMs} ms events=${r.events} trace=${r.traceHash} wall=${r.wallMs.toFixed(0)} ms`,
    `  workload ${r.workload}: ${Object.entries(r.stats).map(([k, v]) => `${k}=${v}`).join(" ") || "-"}`,
    `  faults enabled: ${Object.entries(r.config.faults).map(([k, v]) => `${k}@${v}`).join(" ") || "none"}`,
    `  faults fired:   ${Object.entries(r.faults).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(" ") || "none"}`
  ]
  if (r.silentFaults.length > 0) lines.push(`  enabled but never fired: ${r.silentFaults.join(", ")}`)
  for (const v of r.violations) lines.push(`  VIOLATION ${v}`)
  if (r.result === "fail") {
    lines.push("  last events:")
    for (const e of r.recentEvents.slice(-20)) lines.push(`    ${e}`)
    lines.push(`  replay: ${r.replay}`)
  }
  return lines.join("\n")
}

const toJson = (r: RunResult): string =>
  JSON.stringify({
    seed: r.seed,
    config: r.config,
    events: r.events,
    simulatedMs: r.simulatedMs,
    traceHash: r.traceHash,
    faults: r.faults,
    silentFaults: r.silentFaults,
    result: r.result,
    violations: r.violations,
    replay: r.replay,
    workload: r.workload,
    stats: r.stats,
    wallMs: Math.round(r.wallMs)
  })

/** The flags that choose what to run, as `simCommand` receives them. */
interface RunFlags {
  readonly seed: Option.Option<string>
  readonly seeds: Option.Option<string>
  readonly only: Option.Option<string>
  readonly disable: Option.Option<string>
  readonly workers: number
  readonly nodes: Option.Option<number>
  readonly durationMs: Option.Option<number>
  readonly allFaults: boolean
  readonly workload: NonNullable<RunOptions["workload"]>
  readonly readMode: "read-index" | "lease"
  readonly plantedBug: Option.Option<NonNullable<RunOptions["plantedBug"]>>
}

/** The seeds and run options the flags ask for, or the usage error that says what is wrong with them. */
const parseRunFlags = (flags: RunFlags): { readonly range: { readonly from: number; readonly to: number }; readonly options: RunOptions } | SimUsageError => {
  const seedText = Option.getOrUndefined(flags.seed)
  const seedsText = Option.getOrUndefined(flags.seeds)
  if (seedText !== undefined && seedsText !== undefined) {
    return new SimUsageError({ message: "give --seed N or --seeds A..B, not both" })
  }
  const range = parseSeedRange(seedsText ?? seedText ?? "1..100")
  if (range === undefined) {
    return new SimUsageError({ message: `bad seed "${seedsText ?? seedText}": use a number (--seed 7) or a range (--seeds 1..100)` })
  }
  const only = Option.getOrUndefined(flags.only)
  const disable = Option.getOrUndefined(flags.disable)
  const onlyKinds = only === undefined ? undefined : parseFaultKinds(only)
  const disableKinds = disable === undefined ? undefined : parseFaultKinds(disable)
  if (typeof onlyKinds === "string") return new SimUsageError({ message: `--only: ${onlyKinds}` })
  if (typeof disableKinds === "string") return new SimUsageError({ message: `--disable: ${disableKinds}` })
  if (flags.workers < 1 || flags.workers > 256) return new SimUsageError({ message: "--workers must be between 1 and 256" })
  const nodes = Option.getOrUndefined(flags.nodes)
  if (nodes !== undefined && (nodes < 1 || nodes > 64)) return new SimUsageError({ message: "--nodes must be between 1 and 64" })
  const durationMs = Option.getOrUndefined(flags.durationMs)
  if (durationMs !== undefined && durationMs < 1_000) return new SimUsageError({ message: "--duration-ms must be at least 1000" })
  const options: RunOptions = {
    workload: flags.workload,
    readMode: flags.readMode === "lease" ? "lease" : undefined,
    nodes,
    durationMs,
    only: onlyKinds,
    disable: disableKinds,
    all: flags.allFaults || undefined,
    plantedBug: Option.getOrUndefined(flags.plantedBug)
  }
  return { range, options }
}

/** What a campaign has seen so far, summed over its seeds. */
interface Tally {
  readonly failures: Array<RunResult>
  readonly fired: Map<string, number>
  readonly enabledSomewhere: Set<string>
  events: number
  simulatedMs: number
  wallMs: number
}

const emptyTally = (): Tally => ({ failures: [], fired: new Map(), enabledSomewhere: new Set(), events: 0, simulatedMs: 0, wallMs: 0 })

const addToTally = (t: Tally, result: RunResult) => {
  t.events += result.events
  t.simulatedMs += result.simulatedMs
  t.wallMs += result.wallMs
  for (const [kind, n] of Object.entries(result.faults)) {
    t.fired.set(kind, (t.fired.get(kind) ?? 0) + n)
    t.enabledSomewhere.add(kind)
  }
  if (result.result === "fail") t.failures.push(result)
}

/** The campaign's closing lines: pass/fail counts, speed, faults that fired (or never did), and how to replay each failure. */
const campaignSummary = (range: { readonly from: number; readonly to: number }, t: Tally, workers: number, campaignWallMs: number): string => {
  const silent = [...t.enabledSomewhere].filter((k) => (t.fired.get(k) ?? 0) === 0).sort()
  return [
    `${range.to - range.from + 1} seeds: ${range.to - range.from + 1 - t.failures.length} passed, ${t.failures.length} failed`,
    `events ${t.events}, simulated ${(t.simulatedMs / 1000).toFixed(0)} s; ${(campaignWallMs / 1000).toFixed(1)} s wall on ${workers} thread(s) (${(t.wallMs / 1000).toFixed(1)} s of seed time: ${(t.simulatedMs / Math.max(1, t.wallMs)).toFixed(0)}x real time, ${Math.round(t.events / Math.max(0.001, t.wallMs / 1000))} events/s per thread)`,
    `faults fired: ${[...t.fired.entries()].filter(([, n]) => n > 0).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k}=${n}`).join(" ")}`,
    silent.length > 0 ? `enabled in some seed but never fired in the campaign: ${silent.join(", ")}` : "every enabled fault kind fired",
    ...t.failures.map((f) => `replay: ${f.replay}`)
  ].join("\n")
}

export const simCommand = Command.make(
  "sim",
  {
    seed: Flag.String("seed").pipe(Flag.optional, Flag.withDescription("run this one seed")),
    seeds: Flag.String("seeds").pipe(Flag.optional, Flag.withDescription("run a campaign over A..B (inclusive)")),
    json: Flag.Boolean("json").pipe(Flag.withDefault(false), Flag.withDescription("print one JSON object per seed")),
    nodes: Flag.Int("nodes").pipe(Flag.optional, Flag.withDescription("cluster size (default: drawn per seed, 3..5)")),
    durationMs: Flag.Int("duration-ms").pipe(Flag.optional, Flag.withDescription("simulated run length (default 20000)")),
    only: Flag.String("only").pipe(Flag.optional, Flag.withDescription("only these fault kinds may be drawn (comma-separated, or none)")),
    disable: Flag.String("disable").pipe(Flag.optional, Flag.withDescription("these fault kinds are off (comma-separated)")),
    allFaults: Flag.Boolean("all-faults").pipe(Flag.withDefault(false), Flag.withDescription("enable every allowed fault kind instead of drawing")),
    workload: Flag.Literals("workload", ["raft-kv", "objects", "durable-ping", "log"]).pipe(
      Flag.withDefault("raft-kv" as const),
      Flag.withDescription("what the cluster runs: the Raft KV store under a Jepsen register workload, erasure-coded objects (put/get/delete, checked bytes, linearizability, repair), the simulator's own durable-ping protocol, or the streaming log (topics, idempotent and plain producers, a consumer group; the log checker)")
    ),
    readMode: Flag.Literals("read-mode", ["read-index", "lease"]).pipe(
      Flag.withDefault("read-index" as const),
      Flag.withDescription("Raft reads in the raft-kv workload: ReadIndex, or leader leases (assumes bounded clock drift)")
    ),
    report: Flag.String("report").pipe(Flag.optional, Flag.withDescription("write an HTML report of each failing seed (or of the one seed) into this directory")),
    plantedBug: Flag.Literals("planted-bug", plantedBugs).pipe(
      Flag.optional,
      Flag.withDescription("test only: plant a known bug to show the checks catch it")
    ),
    workers: Flag.Int("workers").pipe(
      Flag.withDefault(1),
      Flag.withDescription("run a campaign's seeds on this many threads (results are the same; only wall time changes)")
    ),
    minimize: Flag.Boolean("minimize").pipe(Flag.withDefault(false), Flag.withDescription("shrink a failing seed: fewer fault kinds, shorter run"))
  },
  (flags) =>
    Effect.gen(function*() {
      const parsed = parseRunFlags(flags)
      if (parsed instanceof SimUsageError) return yield* parsed
      const { range, options } = parsed

      const single = range.from === range.to
      const showBar = !single && !flags.json && process.stderr.isTTY === true
      const bar = showBar ? new cliProgress.SingleBar({ format: "sim [{bar}] {value}/{total} seeds | {failed} failed | {eta_formatted} left", hideCursor: true }, cliProgress.Presets.shades_classic) : undefined
      bar?.start(range.to - range.from + 1, 0, { failed: 0 })

      const tally = emptyTally()
      const failures = tally.failures
      const campaignStarted = performance.now()
      const results = runCampaign(range, options, flags.workers)
      for (;;) {
        const next = yield* Effect.promise(() => results.next())
        if (next.done === true) break
        const result = next.value
        const seed = result.seed
        addToTally(tally, result)
        const reportDir = Option.getOrUndefined(flags.report)
        if (reportDir !== undefined && (single || result.result === "fail")) {
          const path = writeRunReport(join(reportDir, `seed-${seed}`), result)
          if (!flags.json) yield* Console.log(`  report: ${path}`)
        }
        if (flags.json) yield* Console.log(toJson(result))
        else if (single || result.result === "fail") {
          bar?.stop()
          yield* Console.log(describe(result))
        }
        bar?.increment(1, { failed: failures.length })
      }
      bar?.stop()
      const campaignWallMs = performance.now() - campaignStarted

      if (!flags.json && !single) yield* Console.log(campaignSummary(range, tally, flags.workers, campaignWallMs))

      if (flags.minimize && failures.length > 0) {
        const first = failures[0]!
        yield* Console.log(`minimizing seed ${first.seed}...`)
        const shrunk = minimize(first.seed, options, (line) => process.stdout.write(`  ${line}\n`))
        if (shrunk !== undefined) {
          yield* Console.log(`minimal failing run after ${shrunk.attempts} runs:\n${describe(shrunk.result)}`)
        }
      }
      if (failures.length > 0) process.exitCode = 1
    })
).pipe(Command.withDescription("run the deterministic simulator on one seed or a range of seeds"))
