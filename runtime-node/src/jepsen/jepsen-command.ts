/**
 * `cairn jepsen`: Jepsen against real `cairn server` processes. Prints what
 * it sets up, each fault as it is applied, and the verdicts; exit code 0
 * valid, 1 invalid, 2 unknown, 3 setup error. Ctrl-C stops the run and
 * removes everything it started (processes, namespaces, rules, temp data).
 */
import { randomInt } from "node:crypto"
import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { makeCleanup, runJepsen } from "./run.ts"

export const jepsenCommand = Command.make(
  "jepsen",
  {
    workload: Flag.Literals("workload", ["kv", "s3"]).pipe(
      Flag.withDefault("kv" as const),
      Flag.withDescription("kv: registers over the kv HTTP API; s3: objects in one bucket over the S3 API (SigV4-signed GET/PUT, If-Match/If-None-Match for cas)")
    ),
    nodes: Flag.Int("nodes").pipe(Flag.withDefault(5), Flag.withDescription("cluster size (1-9)")),
    time: Flag.Int("time").pipe(Flag.withDefault(60), Flag.withDescription("seconds of workload and faults")),
    nemesis: Flag.String("nemesis").pipe(
      Flag.withDefault("partition,kill,pause,clock"),
      Flag.withDescription("comma-separated fault kinds: partition, kill, pause, clock (or none)")
    ),
    clients: Flag.Int("clients").pipe(Flag.withDefault(10), Flag.withDescription("concurrent client workers")),
    keys: Flag.Int("keys").pipe(Flag.withDefault(5), Flag.withDescription("registers (keys k0..kN-1)")),
    seed: Flag.Int("seed").pipe(Flag.optional, Flag.withDescription("seed of the fault schedule and the client choices (default: random, printed)")),
    report: Flag.String("report").pipe(Flag.optional, Flag.withDescription("directory for the HTML report, history.jsonl and node logs (default: reports/jepsen-<time>)")),
    reads: Flag.Literals("reads", ["linearizable", "serializable"]).pipe(
      Flag.withDefault("linearizable" as const),
      Flag.withDescription("the clients' GET consistency; serializable reads may be stale, to see the checker catch it")
    ),
    namespaces: Flag.Literals("namespaces", ["auto", "on", "off"]).pipe(
      Flag.withDefault("auto" as const),
      Flag.withDescription("one Linux network namespace per node (real partitions); auto falls back to loopback without root/ip")
    )
  },
  (flags) => {
    const seed = Option.getOrUndefined(flags.seed) ?? randomInt(1, 2 ** 31)
    const nemesis = flags.nemesis === "none" || flags.nemesis === "" ? [] : flags.nemesis.split(",").map((s) => s.trim())
    const log = (line: string) => process.stdout.write(`cairn jepsen: ${line}\n`)
    return Effect.acquireUseRelease(
      Effect.sync(makeCleanup),
      (cleanup) =>
        Effect.promise((signal) =>
          runJepsen(
            {
              nodes: flags.nodes,
              timeS: flags.time,
              nemesis,
              clients: flags.clients,
              keys: flags.keys,
              seed,
              reportDir: Option.getOrUndefined(flags.report),
              namespaces: flags.namespaces,
              readConsistency: flags.reads,
              workload: flags.workload,
              log,
              signal
            },
            cleanup
          )
        ).pipe(
          Effect.map((result) => {
            const verdict = result.verdict === "setup-error" ? "SETUP ERROR" : result.verdict.toUpperCase()
            process.stdout.write(
              [
                result.message,
                ...(result.reportPath === undefined ? [] : [`report: ${result.reportPath}`]),
                `reproduce: ${result.reproduce}`,
                `verdict: ${verdict}`,
                ""
              ].join("\n")
            )
            process.exitCode = result.exitCode
          })
        ),
      // On success this is a no-op (the run cleaned up); on Ctrl-C it stops everything before the process exits.
      (cleanup) => Effect.promise(() => cleanup.run())
    )
  }
).pipe(Command.withDescription("run the Jepsen register workload (kv or s3) with a nemesis against real cairn server processes"))
