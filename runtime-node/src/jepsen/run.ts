/**
 * One real-cluster Jepsen run: start N `cairn server` processes on test
 * hosts (network namespaces or loopback), run the register workload and the
 * nemesis together, heal, let the cluster recover, read every key, then
 * check the whole history for linearizability (kv model, per key) and every
 * acknowledged write for durability, and write the HTML report.
 *
 * Everything it starts is registered with a `Cleanup` (processes,
 * namespaces, rules, the temp dir), run on success, failure, interruption
 * (Ctrl-C) and, synchronously, at process exit.
 */
import { checkDurability, checkHistory, isClientProcess, makeModel, toJsonLines, type LinearizabilityResult, type Op, type Value } from "@cairn/jepsen"
import type { DurabilityResult, FaultKind } from "@cairn/jepsen"
import { writeReport } from "@cairn/jepsen/report/write"
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { apiHeaders } from "../server/api-credentials.ts"
import { finalReads, kvDriver, makeRecorder, request, baseUrl, runWorkload, type RegisterDriver, type WorkloadCounts } from "./client.ts"
import { HostSetupError, makeHosts, type Hosts, type HostMode } from "./hosts.ts"
import { healAll, nemesisNames, planFaults, runNemesis, seededRandom, type AppliedFault } from "./nemesis.ts"
import { createBucket, s3Driver } from "./s3-client.ts"
import { makeServers, type ServerEvent, type Servers } from "./servers.ts"

export type Workload = "kv" | "s3"

/** The bucket the s3 workload's registers (objects k0..) live in. */
export const S3_BUCKET = "jepsen"

export interface JepsenOptions {
  readonly nodes: number
  readonly timeS: number
  readonly nemesis: ReadonlyArray<string>
  readonly clients: number
  readonly keys: number
  readonly seed: number
  readonly reportDir: string | undefined
  readonly namespaces: "auto" | "on" | "off"
  readonly log: (line: string) => void
  readonly signal?: AbortSignal | undefined
  /** Per-request client timeout, ms (the servers answer 504 after `requestTimeoutMs`). */
  readonly clientTimeoutMs?: number
  readonly requestTimeoutMs?: number
  /** Bound on waiting for a leader at start and after healing, in polls 250 ms apart. */
  readonly readyPolls?: number
  /** The clients' reads; `serializable` (possibly stale) shows the checker catching anomalies. Final reads are always linearizable. */
  readonly readConsistency?: "linearizable" | "serializable"
  /** `kv` (default): registers over the kv HTTP API; `s3`: objects in one bucket over the S3 API. */
  readonly workload?: Workload
}

export type Verdict = "valid" | "invalid" | "unknown"

export interface JepsenResult {
  readonly verdict: Verdict | "setup-error"
  readonly exitCode: 0 | 1 | 2 | 3
  readonly message: string
  readonly mode: HostMode | undefined
  readonly notes: ReadonlyArray<string>
  readonly skipped: ReadonlyArray<{ readonly kind: FaultKind; readonly why: string }>
  readonly applied: ReadonlyArray<AppliedFault>
  readonly counts: WorkloadCounts | undefined
  readonly linearizability: LinearizabilityResult | undefined
  readonly durability: DurabilityResult | undefined
  readonly finalValues: ReadonlyMap<string, Value>
  readonly serverEvents: ReadonlyArray<ServerEvent>
  readonly history: ReadonlyArray<Op>
  readonly reportPath: string | undefined
  readonly reproduce: string
  /** The run's temp dir (data and logs; removed at the end). */
  readonly dir: string | undefined
}

/** A stack of undo actions, each with a synchronous twin for `process.on("exit")`. Idempotent. */
export interface Cleanup {
  readonly add: (name: string, run: () => Promise<void>, runSync: () => void) => void
  readonly run: () => Promise<void>
}

export const makeCleanup = (): Cleanup => {
  const steps: Array<{ name: string; run: () => Promise<void>; runSync: () => void }> = []
  let running: Promise<void> | undefined
  const onExit = () => {
    for (const s of steps.splice(0).reverse()) {
      try {
        s.runSync()
      } catch {
        // best effort at exit
      }
    }
  }
  process.on("exit", onExit)
  return {
    add: (name, run, runSync) => steps.push({ name, run, runSync }),
    run: () =>
      (running ??= (async () => {
        while (steps.length > 0) {
          const s = steps.pop()!
          try {
            await s.run()
          } catch (e) {
            process.stderr.write(`cairn jepsen: cleanup of ${s.name} failed: ${String(e)}\n`)
            s.runSync()
          }
        }
        process.off("exit", onExit)
      })())
  }
}

export const reproduceCommand = (o: JepsenOptions): string =>
  `npx cairn jepsen${o.workload === "s3" ? " --workload s3" : ""} --nodes ${o.nodes} --time ${o.timeS} --nemesis ${o.nemesis.join(",") || "none"} --clients ${o.clients} --keys ${o.keys} --seed ${o.seed} --namespaces ${o.namespaces}` +
  (o.readConsistency === "serializable" ? " --reads serializable" : "")

interface Status {
  readonly leader?: string | null
}

/** Polls until every node answers and all name the same leader; false if the bound runs out first. */
export const awaitLeader = async (servers: Servers, polls: number, signal: AbortSignal): Promise<boolean> => {
  for (let i = 0; i < polls && !signal.aborted; i++) {
    const all = await Promise.all(
      servers.ids.map(async (id) => {
        const r = await request(`${baseUrl(servers.host(id))}/v1/status`, { method: "GET", headers: apiHeaders(servers.credentials), timeoutMs: 2000 })
        if (r.status !== 200) return undefined
        try {
          return (JSON.parse(r.body) as Status).leader ?? undefined
        } catch {
          return undefined
        }
      })
    )
    if (all[0] !== undefined && all.every((l) => l === all[0])) return true
    await new Promise((r) => setTimeout(r, 250))
  }
  return false
}

/** For the durability check: a cas that took effect (or may have) is a write of its new value. */
export const casAsWrites = (history: ReadonlyArray<Op>): Array<Op> =>
  history.map((op) => {
    if (!isClientProcess(op.process) || op.f !== "cas") return op
    const v = op.value as ReadonlyArray<Value>
    const [, to] = v[1] as ReadonlyArray<Value>
    return { ...op, f: "write", value: [v[0]!, to!] }
  })

const worst = (vs: ReadonlyArray<Verdict>): Verdict => (vs.includes("invalid") ? "invalid" : vs.includes("unknown") ? "unknown" : "valid")

export const usageProblems = (o: JepsenOptions): Array<string> => {
  const p: Array<string> = []
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 9) p.push(`--nodes must be 1-9, got ${o.nodes}`)
  if (!(o.timeS > 0)) p.push(`--time must be positive, got ${o.timeS}`)
  if (!Number.isInteger(o.clients) || o.clients < 1 || o.clients > 100) p.push(`--clients must be 1-100, got ${o.clients}`)
  if (!Number.isInteger(o.keys) || o.keys < 1 || o.keys > 1000) p.push(`--keys must be 1-1000, got ${o.keys}`)
  if (o.workload === "s3" && o.readConsistency === "serializable") p.push("--reads serializable applies to the kv workload only (S3 reads are always linearizable)")
  for (const n of o.nemesis) if (!(n in nemesisNames)) p.push(`unknown nemesis "${n}" (known: ${Object.keys(nemesisNames).join(", ")})`)
  return p
}

export const runJepsen = async (o: JepsenOptions, cleanup: Cleanup = makeCleanup()): Promise<JepsenResult> => {
  const abort = new AbortController()
  const onAbort = () => abort.abort()
  o.signal?.addEventListener("abort", onAbort, { once: true })
  const signal = abort.signal
  const reproduce = reproduceCommand(o)
  const base = emptyResult(reproduce)
  const setupError = (message: string, extra: Partial<JepsenResult> = {}): JepsenResult => ({ ...base, ...extra, verdict: "setup-error", exitCode: 3, message })
  const problems = usageProblems(o)
  if (problems.length > 0) return setupError(problems.join("\n"))
  const ids = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`)
  const requestTimeoutMs = o.requestTimeoutMs ?? 2000
  const clientTimeoutMs = o.clientTimeoutMs ?? requestTimeoutMs + 1500
  const readyPolls = o.readyPolls ?? 360
  try {
    const dir = mkdtempSync(join(tmpdir(), "cairn-jepsen-"))
    base.dir = dir
    cleanup.add("temp dir", async () => rmSync(dir, { recursive: true, force: true }), () => rmSync(dir, { recursive: true, force: true }))
    let hosts: Hosts
    try {
      hosts = await makeHosts(ids, o.namespaces)
    } catch (e) {
      if (e instanceof HostSetupError) return setupError(`test hosts: ${e.message}`)
      throw e
    }
    cleanup.add("test hosts", hosts.teardown, hosts.teardownSync)
    const wantsClock = o.nemesis.includes("clock")
    const servers = makeServers({ hosts, dir, secret: `jepsen-${o.seed}-${process.pid}-cluster-secret`, requestTimeoutMs, faketime: wantsClock })
    cleanup.add("servers", servers.stopAll, servers.stopAllSync)
    const notes = [...hosts.notes]
    const { kinds, skipped } = enabledFaults(o.nemesis, hosts, servers)
    if (wantsClock && servers.clockFaults === undefined) notes.push("clock: libfaketime preloaded; clock-skew shifts CLOCK_REALTIME only (the monotonic clock is left alone)")
    for (const s of skipped) notes.push(`skipped ${s.kind}: ${s.why}`)
    for (const n of notes) o.log(n)
    const withNotes = { mode: hosts.mode, notes, skipped, serverEvents: servers.events }

    servers.startAll()
    o.log(`started ${ids.length} servers (${hosts.nodes.map((n) => `${n.id} ${n.ip}:${n.apiPort}`).join(", ")}); data and logs in ${dir}`)
    if (!(await awaitLeader(servers, readyPolls, signal))) {
      const tails = ids.map((id) => `--- ${id} (${servers.running(id) ? "running" : "exited"})\n${servers.tail(id, 8)}`).join("\n")
      return setupError(signal.aborted ? "interrupted" : `the cluster elected no leader known to every node\n${tails}`, withNotes)
    }
    o.log("cluster ready: every node knows the leader")

    const workload = o.workload ?? "kv"
    const driver = await workloadDriver(o, workload, hosts, servers, clientTimeoutMs, signal)
    if (typeof driver === "string") return setupError(driver, withNotes)

    const { recorder, counts, applied } = await runPhase(o, { workload, ids, kinds, hosts, servers, driver, clientTimeoutMs, signal })
    await healAll(hosts, servers)
    o.log(`workload done: ${counts.ok} ok, ${counts.fail} fail, ${counts.info} info; healed, waiting for the cluster to recover`)
    const recovered = await awaitLeader(servers, readyPolls, signal)
    if (!recovered) o.log("warning: no leader known to every node after healing; final reads will still try every node")
    const finalValues = await finalReads({ nodes: hosts.nodes, keys: o.keys, process: o.clients, attempts: 40, timeoutMs: clientTimeoutMs, recorder, signal, driver })
    const history = recorder.history
    if (signal.aborted) return setupError("interrupted", { ...withNotes, applied, counts, history })

    o.log(`checking ${history.length} events`)
    const judged = judge(history, finalValues, counts, applied, servers.events, o.keys)
    const { linearizability, durability, verdict, exitCode, lines } = judged

    const reportPath = saveReport({ o, workload, kinds, hosts, servers, ids, notes, history, counts, applied, finalValues, judged, reproduce })
    return { ...withNotes, verdict, exitCode, message: lines.join("\n"), applied, counts, linearizability, durability, finalValues, history, reportPath, reproduce, dir }
  } finally {
    o.signal?.removeEventListener("abort", onAbort)
    await cleanup.run()
  }
}

/** The fields of a result that a setup error leaves empty. */
const emptyResult = (reproduce: string) => ({
  mode: undefined,
  notes: [],
  skipped: [],
  applied: [],
  counts: undefined,
  linearizability: undefined,
  durability: undefined,
  finalValues: new Map<string, Value>(),
  serverEvents: [],
  history: [],
  reportPath: undefined,
  reproduce,
  dir: undefined as string | undefined
})

/** The clients' driver for the workload (for S3, once its bucket exists); a setup error's message if the bucket cannot be created. */
const workloadDriver = async (o: JepsenOptions, workload: Workload, hosts: Hosts, servers: Servers, clientTimeoutMs: number, signal: AbortSignal): Promise<RegisterDriver | string> => {
  if (workload !== "s3") return kvDriver({ timeoutMs: clientTimeoutMs, credentials: servers.credentials, readConsistency: o.readConsistency })
  const target = { credentials: { ...servers.credentials, region: "us-east-1" }, bucket: S3_BUCKET, timeoutMs: clientTimeoutMs }
  const bucket = await createBucket(target, hosts.nodes, 40, signal)
  if (!bucket.ok) return signal.aborted ? "interrupted" : `could not create the bucket ${S3_BUCKET}: ${bucket.last}`
  o.log(`s3 workload: bucket ${S3_BUCKET} created; objects on ${hosts.nodes.map((n) => `${n.ip}:${n.s3Port}`).join(", ")}`)
  return s3Driver(target)
}

/** The test itself: the clients run the workload while the nemesis injects its planned faults. */
const runPhase = async (
  o: JepsenOptions,
  p: {
    readonly workload: Workload
    readonly ids: ReadonlyArray<string>
    readonly kinds: ReadonlyArray<FaultKind>
    readonly hosts: Hosts
    readonly servers: Servers
    readonly driver: RegisterDriver
    readonly clientTimeoutMs: number
    readonly signal: AbortSignal
  }
) => {
  const { workload, ids, kinds, hosts, servers, driver, clientTimeoutMs, signal } = p
  const durationMs = o.timeS * 1000
  const faults = planFaults(o.seed, ids, durationMs, kinds)
  const random = seededRandom(o.seed ^ 0x5eed)
  const recorder = makeRecorder(performance.now())
  o.log(`running ${o.clients} ${workload} clients on ${o.keys} keys for ${o.timeS} s; ${faults.length} faults planned (seed ${o.seed})`)
  const [counts, applied] = await Promise.all([
    runWorkload({
      nodes: hosts.nodes,
      clients: o.clients,
      keys: o.keys,
      durationMs,
      maxOpsPerClient: Math.ceil(o.timeS * 100),
      timeoutMs: clientTimeoutMs,
      random,
      recorder,
      signal,
      readConsistency: o.readConsistency ?? "linearizable",
      driver
    }),
    runNemesis({ faults, hosts, servers, recorder, signal, log: o.log })
  ])
  return { recorder, counts, applied }
}

/** Which of the asked-for nemesis kinds these hosts and servers can inject, and why the others are skipped. */
const enabledFaults = (nemesis: ReadonlyArray<string>, hosts: Hosts, servers: Servers) => {
  const skipped: Array<{ kind: FaultKind; why: string }> = []
  const kinds: Array<FaultKind> = []
  for (const name of nemesis) {
    const kind = nemesisNames[name]!
    const why = kind === "partition" ? hosts.noPartitions : kind === "clock-skew" ? servers.clockFaults : undefined
    if (why === undefined) kinds.push(kind)
    else skipped.push({ kind, why })
  }
  return { kinds, skipped }
}

/** The checkers' verdicts on the run (linearizability per key, durability, faults, server exits) and the lines that explain them. */
const judge = (
  history: ReadonlyArray<Op>,
  finalValues: ReadonlyMap<string, Value>,
  counts: WorkloadCounts,
  applied: ReadonlyArray<AppliedFault>,
  serverEvents: ReadonlyArray<ServerEvent>,
  keys: number
) => {
  const started = performance.now()
  const linearizability = checkHistory(makeModel("kv"), history, { maxSteps: 20_000_000, now: () => performance.now(), deadline: started + 300_000 })
  const missing = Array.from({ length: keys }, (_, k) => `k${k}`).filter((k) => !finalValues.has(k))
  const durability = checkDurability(casAsWrites(history), finalValues, {})
  const durabilityVerdict: Verdict = durability.verdict === "invalid" ? "invalid" : missing.length > 0 ? "unknown" : "valid"
  const verdicts: Array<Verdict> = [linearizability.verdict, durabilityVerdict]
  if (counts.ok === 0) verdicts.push("unknown")
  const verdict = worst(verdicts)
  const exitCode: 0 | 1 | 2 = verdict === "valid" ? 0 : verdict === "invalid" ? 1 : 2
  const unexpected = serverEvents.filter((e) => e.unexpected)
  const unconfirmed = applied.filter((a) => !a.confirmed)

  const lines = [
    `linearizability (kv, per key): ${linearizability.verdict.toUpperCase()} — ${linearizability.operations} operations, ${linearizability.partitions} keys, ${linearizability.steps} search steps${linearizability.reason === undefined ? "" : ` (${linearizability.reason})`}`,
    `durability (every acknowledged write visible or superseded at the end): ${durabilityVerdict.toUpperCase()} — ${durability.acknowledged} acknowledged writes, ${durability.lost.length} lost${missing.length > 0 ? `, no final read for ${missing.join(",")}` : ""}`,
    `faults: ${applied.length} applied (${kindCounts(applied)}), ${applied.length - unconfirmed.length} confirmed${unconfirmed.length > 0 ? `; unconfirmed: ${unconfirmed.map((a) => `${a.fault.kind} (${a.evidence})`).join("; ")}` : ""}`,
    `server processes: ${unexpected.length === 0 ? "no unexpected exits" : `unexpected exits: ${unexpected.map((e) => `${e.node} ${e.how}`).join(", ")}`}`
  ]
  if (counts.ok === 0) lines.push("no client operation succeeded: the run proves nothing")
  for (const lost of durability.lost) lines.push(`  lost: ${lost.key} = ${JSON.stringify(lost.value)} (op ${lost.index}), final value ${JSON.stringify(lost.found)}`)
  if (linearizability.counterexample?.blocked !== undefined) lines.push(`  cannot linearize: ${linearizability.counterexample.blocked.description} (op ${linearizability.counterexample.blocked.id})`)
  return { linearizability, durability, durabilityVerdict, verdict, exitCode, unexpected, unconfirmed, lines }
}

/** Writes the HTML report, the history, the servers' logs and a JSON summary; returns the report's path. */
const saveReport = (r: {
  readonly o: JepsenOptions
  readonly workload: Workload
  readonly kinds: ReadonlyArray<FaultKind>
  readonly hosts: Hosts
  readonly servers: Servers
  readonly ids: ReadonlyArray<string>
  readonly notes: ReadonlyArray<string>
  readonly history: ReadonlyArray<Op>
  readonly counts: WorkloadCounts
  readonly applied: ReadonlyArray<AppliedFault>
  readonly finalValues: ReadonlyMap<string, Value>
  readonly judged: ReturnType<typeof judge>
  readonly reproduce: string
}): string => {
  const { o, workload, kinds, hosts, servers, ids, notes, history, counts, applied, finalValues, judged, reproduce } = r
  const reportDir = resolve(o.reportDir ?? join("reports", `jepsen-${new Date().toISOString().replace(/[:.]/g, "-")}`))
  mkdirSync(reportDir, { recursive: true })
  const reportPath = writeReport(reportDir, {
    title: `cairn jepsen (${workload}): ${o.nodes} nodes, ${o.timeS} s, nemesis ${kinds.join(",") || "none"} (${hosts.mode}): ${judged.verdict}`,
    history,
    verdicts: [
      { checker: "linearizability (kv, per key)", verdict: judged.linearizability.verdict, detail: judged.lines[0]! },
      { checker: "durability", verdict: judged.durabilityVerdict, detail: judged.lines[1]! },
      { checker: "faults", verdict: judged.unconfirmed.length === 0 ? "valid" : "unknown", detail: `${judged.lines[2]!}. ${applied.map((a) => `${(a.start / 1000).toFixed(1)}-${(a.end / 1000).toFixed(1)}s ${a.fault.kind}: ${a.evidence}`).join("; ")}` },
      { checker: "server processes", verdict: judged.unexpected.length === 0 ? "valid" : "unknown", detail: `${judged.lines[3]!}. ${notes.join("; ")}` }
    ],
    counterexample: judged.linearizability.counterexample,
    faults: applied.map((a) => ({ kind: a.fault.kind, start: Math.round(a.start * 1e6), end: Math.round(a.end * 1e6), label: `${a.fault.kind}: ${a.evidence}` })),
    reproduce
  })
  writeFileSync(join(reportDir, "history.jsonl"), toJsonLines(history))
  for (const id of ids) copyFileSync(servers.logFile(id), join(reportDir, `${id}.log`))
  writeFileSync(
    join(reportDir, "summary.json"),
    JSON.stringify({ verdict: judged.verdict, workload, reproduce, mode: hosts.mode, notes, counts, applied, serverEvents: servers.events, finalValues: Object.fromEntries(finalValues), lost: judged.durability.lost }, null, 2)
  )
  return reportPath
}

const kindCounts = (applied: ReadonlyArray<AppliedFault>): string => {
  const m = new Map<string, number>()
  for (const a of applied) m.set(a.fault.kind, (m.get(a.fault.kind) ?? 0) + 1)
  return [...m].map(([k, n]) => `${n} ${k}`).join(", ") || "none"
}
