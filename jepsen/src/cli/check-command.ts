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
  /** Undefined: guessed from the format where it names one model (Porcupine's logs), else an error. */
  readonly model: ModelName | undefined
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
  ["cairn check", a.model === undefined ? "" : `--model ${a.model}`, a.format !== "auto" ? `--format ${a.format}` : "", a.timeLimit ? `--time-limit ${a.timeLimit}` : "", a.maxSteps ? `--max-steps ${a.maxSteps}` : "", JSON.stringify(a.file)]
    .filter((s) => s !== "")
    .join(" ")

/** The model a format implies: Porcupine's etcd logs are CAS registers, its kv logs a key-value map. */
export const modelForFormat = (format: Exclude<HistoryFormat, "auto">): ModelName | undefined =>
  format === "etcd-log" ? "cas-register" : format === "kv-log" ? "kv" : undefined

const readHistoryText = (file: string): string => {
  try {
    return readFileSync(file, "utf8")
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : (e as Error).message
    throw new CheckInputError({ message: `cannot read ${file}: ${why}; pass the path of a history file (JSON lines, history.edn or a Porcupine log)` })
  }
}

/** The handler's work, as a plain function (tests call it directly). Bad input throws a `CheckInputError` whose message says the fix. */
export const runCheck = (args: CheckArgs): CheckOutcome => {
  const text = readHistoryText(args.file)
  const format = args.format === "auto" ? detectFormat(text) : args.format
  const modelName = args.model ?? modelForFormat(format)
  if (modelName === undefined) {
    throw new CheckInputError({ message: `${args.file} is ${format === "edn" ? "an" : "a"} ${format} history, which does not say what data type it records: pass --model (${modelNames.join(", ")})` })
  }
  let history: ReturnType<typeof parseHistory>
  let model: ReturnType<typeof makeModel>
  try {
    history = parseHistory(text, format)
    model = makeModel(modelName, optionsForFormat(format))
  } catch (e) {
    throw new CheckInputError({ message: `${args.file} is not a ${format} history: ${(e as Error).message}; pass the right --format (${formats.slice(1).join(", ")})` })
  }
  if (history.length === 0) throw new CheckInputError({ message: `${args.file} holds no operations, so there is nothing to check; is it the right file, or empty because the run recorded nothing?` })
  const resolved = { ...args, model: modelName }
  return checkParsed(resolved, format, history, model)
}

const checkParsed = (
  args: CheckArgs & { readonly model: ModelName },
  format: Exclude<HistoryFormat, "auto">,
  history: ReturnType<typeof parseHistory>,
  model: ReturnType<typeof makeModel>
): CheckOutcome => {
  const started = performance.now()
  let result: LinearizabilityResult
  try {
    result = checkHistory(model, history, {
      ...(args.timeLimit > 0 ? { now: () => performance.now(), deadline: started + args.timeLimit * 1000 } : {}),
      ...(args.maxSteps > 0 ? { maxSteps: args.maxSteps } : {})
    })
  } catch (e) {
    // Models reject an operation of the wrong shape with a TypeError; anything else is a bug and stays loud.
    if (!(e instanceof TypeError)) throw e
    throw new CheckInputError({ message: `${args.file}: its operations do not fit the ${args.model} model (${(e as Error).message}); pass the --model the history was recorded with (${modelNames.join(", ")})` })
  }
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

const humanOutput = (args: CheckArgs & { readonly model: ModelName }, format: string, r: LinearizabilityResult, ms: number, reportPath: string | undefined): string => {
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
    model: Flag.Literals("model", modelNames).pipe(Flag.optional, Flag.withDescription("the data type's model (guessed for Porcupine's etcd and kv logs; required otherwise)")),
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
            model: Option.getOrUndefined(cfg.model),
            format: cfg.format,
            json: cfg.json,
            report: Option.getOrUndefined(cfg.report),
            timeLimit: cfg.timeLimit,
            maxSteps: cfg.maxSteps
          }),
        catch: (e) => e instanceof CheckInputError ? e : new CheckInputError({ message: e instanceof Error ? e.message : String(e) })
      }).pipe(Effect.tapError((e) => Console.error(`cairn check: ${e.message}`)))
      yield* Console.log(outcome.output)
      if (outcome.exitCode !== 0) return yield* new CheckVerdict({ verdict: outcome.result.verdict, code: outcome.exitCode })
    })
).pipe(Command.withDescription("check a history for linearizability; exit 0 valid, 1 invalid, 2 unknown"))

/** An unreadable file or history: exit 3, so it is never mistaken for a verdict. The handler prints its one line. */
export class CheckInputError extends Data.TaggedError("CheckInputError")<{ readonly message: string }> {
  override get [Runtime.errorExitCode](): number {
    return 3
  }
  override get [Runtime.errorReported](): boolean {
    return false
  }
}
