/**
 * `cairn check --model NAME [--format F] [--json] [--report DIR] FILE`:
 * checks a history file for linearizability and exits 0 (valid), 1
 * (invalid) or 2 (unknown: the time or step budget ran out). This file does
 * I/O (reads the history, writes the report); the checker itself is pure.
 */
import { readFileSync } from "node:fs"
import { Data, Effect, Option, Runtime } from "effect"
import * as Console from "effect/Console"
import { Argument, Command, Flag } from "effect/cli"
import { checkHistory } from "../checker/check-history.ts"
import type { LinearizabilityResult, Verdict } from "../checker/linearizability.ts"
import type { HistoryFormat } from "../history/formats.ts"
import { detectFormat, parseHistory } from "../history/formats.ts"
import type { ModelName } from "../model/registry.ts"
import { makeModel, modelNames, optionsForFormat } from "../model/registry.ts"
import { nemesisIntervals } from "../report/html.ts"
import { writeReport } from "../report/write.ts"

export const formats = ["auto", "json", "edn", "etcd-log", "kv-log"] as const

export interface CheckArgs {
  readonly file: string
  readonly model: ModelName
  readonly format: HistoryFormat
  readonly json: boolean
  readonly report: string | undefined
  /** Seconds; 0 means no limit. */
  readonly timeLimit: number
  /** Search steps; 0 means no limit. */
  readonly maxSteps: number
}

export interface CheckOutcome {
  readonly exitCode: 0 | 1 | 2
  /** What to print on stdout. */
  readonly output: string
  readonly result: LinearizabilityResult
  readonly reportPath: string | undefined
}

export const exitCodeOf = (v: Verdict): 0 | 1 | 2 => (v === "valid" ? 0 : v === "invalid" ? 1 : 2)

/** The command line that reproduces a check. */
export const reproduceCommand = (a: CheckArgs): string =>
  ["cairn check", `--model ${a.model}`, a.format !== "auto" ? `--format ${a.format}` : "", a.timeLimit ? `--time-limit ${a.timeLimit}` : "", a.maxSteps ? `--max-steps ${a.maxSteps}` : "", JSON.stringify(a.file)]
    .filter((s) => s !== "")
    .join(" ")

/** The handler's work, as a plain function (tests call it directly). */
export const runCheck = (args: CheckArgs): CheckOutcome => {
  const text = readFileSync(args.file, "utf8")
  const format = args.format === "auto" ? detectFormat(text) : args.format
  const history = parseHistory(text, format)
  const model = makeModel(args.model, optionsForFormat(format))
  const started = performance.now()
  const result = checkHistory(model, history, {
    ...(args.timeLimit > 0 ? { now: () => performance.now(), deadline: started + args.timeLimit * 1000 } : {}),
    ...(args.maxSteps > 0 ? { maxSteps: args.maxSteps } : {})
  })
  const elapsedMs = performance.now() - started
  const reportPath =
    args.report === undefined
      ? undefined
      : writeReport(args.report, {
          title: `${args.file}: ${args.model}`,
          history,
          verdicts: [{ checker: `linearizable (${args.model})`, verdict: result.verdict, detail: result.reason ?? `${result.operations} ops, ${result.partitions} partition(s), ${result.steps} steps` }],
          counterexample: result.counterexample,
          faults: nemesisIntervals(history),
          reproduce: reproduceCommand(args)
        })
  const output = args.json
    ? JSON.stringify({ file: args.file, format, ...result, elapsedMs: Math.round(elapsedMs * 1000) / 1000, ...(reportPath ? { report: reportPath } : {}) })
    : humanOutput(args, format, result, elapsedMs, reportPath)
  return { exitCode: exitCodeOf(result.verdict), output, result, reportPath }
}

const humanOutput = (args: CheckArgs, format: string, r: LinearizabilityResult, ms: number, reportPath: string | undefined): string => {
  const lines = [
    `${args.file} (${format}), model ${args.model}: ${r.verdict.toUpperCase()}`,
    `  ${r.operations} operations, ${r.partitions} partition(s), ${r.steps} search steps, ${ms.toFixed(1)} ms`
  ]
  if (r.reason) lines.push(`  ${r.reason}`)
  const c = r.counterexample
  if (c) {
    if (c.partition !== undefined) lines.push(`  key: ${JSON.stringify(c.partition)}`)
    lines.push(`  longest linearizable prefix: ${c.linearized.length} ops, ending in state ${c.state}`)
    for (const s of c.linearized.slice(-5)) lines.push(`    op ${s.id} (p${s.process}) ${s.description}  => ${s.stateAfter}`)
    if (c.blocked) lines.push(`  cannot linearize op ${c.blocked.id} (p${c.blocked.process}) ${c.blocked.description}`)
    for (const k of c.candidates) lines.push(`    candidate op ${k.id} (p${k.process}) ${k.description}: ${k.legal ? "legal, but leads nowhere" : "impossible here"}`)
  }
  if (reportPath) lines.push(`  report: ${reportPath}`)
  return lines.join("\n")
}

/** Fails the command with the verdict's exit code (1 invalid, 2 unknown), without an error log. */
export class CheckVerdict extends Data.TaggedError("CheckVerdict")<{ readonly verdict: Verdict; readonly code: number }> {
  override get [Runtime.errorExitCode](): number {
    return this.code
  }
  override get [Runtime.errorReported](): boolean {
    return false
  }
}

export const checkCommand = Command.make(
  "check",
  {
    model: Flag.Literals("model", modelNames).pipe(Flag.withDescription("the data type's model")),
    format: Flag.Literals("format", formats).pipe(Flag.withDefault("auto" as const), Flag.withDescription("history format (auto-detected by default)")),
    json: Flag.Boolean("json").pipe(Flag.withDefault(false), Flag.withDescription("print the result as JSON")),
    report: Flag.String("report").pipe(Flag.optional, Flag.withDescription("write an HTML report to this directory")),
    timeLimit: Flag.Finite("time-limit").pipe(Flag.withDefault(0), Flag.withDescription("seconds before giving up with 'unknown' (0: none)")),
    maxSteps: Flag.Int("max-steps").pipe(Flag.withDefault(0), Flag.withDescription("search steps before giving up with 'unknown' (0: none)")),
    file: Argument.String("file").pipe(Argument.withDescription("the history: JSON lines, history.edn, or a Porcupine log"))
  },
  (cfg) =>
    Effect.gen(function* () {
      const outcome = yield* Effect.try({
        try: () =>
          runCheck({
            file: cfg.file,
            model: cfg.model,
            format: cfg.format,
            json: cfg.json,
            report: Option.getOrUndefined(cfg.report),
            timeLimit: cfg.timeLimit,
            maxSteps: cfg.maxSteps
          }),
        catch: (e) => new CheckInputError({ message: e instanceof Error ? e.message : String(e) })
      })
      yield* Console.log(outcome.output)
      if (outcome.exitCode !== 0) return yield* new CheckVerdict({ verdict: outcome.result.verdict, code: outcome.exitCode })
    })
).pipe(Command.withDescription("check a history for linearizability; exit 0 valid, 1 invalid, 2 unknown"))

/** An unreadable file or history: exit 3, so it is never mistaken for a verdict. */
export class CheckInputError extends Data.TaggedError("CheckInputError")<{ readonly message: string }> {
  override get [Runtime.errorExitCode](): number {
    return 3
  }
}
