/**
 * The register workload over HTTP, as the simulator's raft-kv workload runs
 * it (sim/src/workload/raft-kv.ts): a bounded number of async workers, each
 * a Jepsen process, reading, writing and compare-and-setting a few keys on
 * random nodes, every op recorded with its time.
 *
 * Values are unique integers (process * 1e6 + counter), so a cas on a
 * revision is a cas on a value: cas [key, [from, to]] sends `If-Match` with
 * the revision at which this worker last read `from` (`If-None-Match: *`
 * when it read nothing). Outcomes:
 *
 * - ok: 200 (reads also 404 = nil).
 * - fail: a definite refusal — 503 (the server promises nothing happened),
 *   412 for a cas, a refused connection, or any failed read (reads change
 *   nothing, so a failed read is simply not there).
 * - info: a write whose outcome is unknown — 504, a timeout, a reset
 *   connection, any other answer.
 */
import type { Op, Value } from "@cairn/jepsen"
import { apiHeaders, type ApiCredentials } from "../server/api-credentials.ts"
import type { TestHost } from "./hosts.ts"

export type Outcome = "ok" | "fail" | "info"

export interface HttpResult {
  /** HTTP status, or a transport error. */
  readonly status: number | "refused" | "timeout" | "error"
  readonly body: string
  readonly etag: string | undefined
}

/** How a write's (PUT, cas) answer maps to a history outcome. */
export const writeOutcome = (r: HttpResult, isCas: boolean): Outcome => {
  if (r.status === 200) return "ok"
  if (r.status === 503 || r.status === "refused") return "fail"
  if (isCas && r.status === 412) return "fail"
  return "info"
}

/** A read: 200 → the value, 404 → nil, anything else → fail. */
export const readOutcome = (r: HttpResult): { readonly type: "ok" | "fail"; readonly value: number | null; readonly revision: number } => {
  if (r.status === 200) return { type: "ok", value: Number(r.body), revision: parseEtag(r.etag) }
  if (r.status === 404) return { type: "ok", value: null, revision: 0 }
  return { type: "fail", value: null, revision: 0 }
}

const parseEtag = (etag: string | undefined): number => {
  const m = /^"?(\d+)"?$/.exec(etag ?? "")
  return m === null ? 0 : Number(m[1])
}

const causeCode = (e: unknown): string | undefined => {
  let c: unknown = e
  for (let i = 0; i < 4 && c !== undefined && c !== null; i++) {
    const code = (c as { code?: unknown }).code
    if (typeof code === "string") return code
    c = (c as { cause?: unknown }).cause
  }
  return undefined
}

export const request = async (
  url: string,
  init: { readonly method: string; readonly body?: string; readonly headers?: Record<string, string>; readonly timeoutMs: number }
): Promise<HttpResult> => {
  try {
    const r = await fetch(url, {
      method: init.method,
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(init.headers === undefined ? {} : { headers: init.headers }),
      signal: AbortSignal.timeout(init.timeoutMs)
    })
    const body = await r.text()
    return { status: r.status, body, etag: r.headers.get("etag") ?? undefined }
  } catch (e) {
    if ((e as Error).name === "TimeoutError" || (e as Error).name === "AbortError") return { status: "timeout", body: "", etag: undefined }
    // Refused: nothing reached the server, so nothing happened.
    if (causeCode(e) === "ECONNREFUSED") return { status: "refused", body: "", etag: undefined }
    return { status: "error", body: String(e), etag: undefined }
  }
}

export const baseUrl = (h: TestHost): string => `http://${h.ip}:${h.apiPort}`

/** The recorded history; times are ns since the test started (Jepsen's unit). */
export interface Recorder {
  readonly history: Array<Op>
  readonly record: (op: Omit<Op, "index" | "time">) => void
  /** ns since t0. */
  readonly now: () => number
}

export const makeRecorder = (t0: number): Recorder => {
  const history: Array<Op> = []
  const now = () => Math.round((performance.now() - t0) * 1e6)
  return { history, now, record: (op) => history.push({ ...op, index: history.length, time: now() }) }
}

export interface WorkloadOptions {
  readonly nodes: ReadonlyArray<TestHost>
  readonly clients: number
  readonly keys: number
  /** Workers stop issuing ops at this time (ms of test time). */
  readonly durationMs: number
  /** ...or after this many ops each, whichever comes first. */
  readonly maxOpsPerClient: number
  readonly timeoutMs: number
  readonly random: () => number
  readonly recorder: Recorder
  readonly signal: AbortSignal
  /** `serializable` reads may be stale: a way to see the checker catch real anomalies (kv only). */
  readonly readConsistency?: "linearizable" | "serializable"
  /** The kv HTTP API (`kvDriver`) or S3 objects. */
  readonly driver: RegisterDriver
}

export interface WorkloadCounts {
  ok: number
  fail: number
  info: number
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((r) => {
    if (signal.aborted) return r()
    const t = setTimeout(r, ms)
    signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true })
  })

/** A read's result: the value (nil for none) and what a later cas of this worker compares on. */
export interface ReadResult {
  readonly type: "ok" | "fail"
  readonly value: Value
  /** The kv revision or the S3 ETag the value was read at; undefined when the key had no value. */
  readonly token: string | undefined
}

/** How a workload reaches the registers: the kv HTTP API (`kvDriver`) or S3 objects (s3-client.ts). */
export interface RegisterDriver {
  /** `final`: a final read after the heal (always linearizable). */
  readonly read: (node: TestHost, key: string, final: boolean) => Promise<ReadResult>
  readonly write: (node: TestHost, key: string, value: number) => Promise<Outcome>
  /** Compare-and-set against `token` (undefined: the key must not exist yet). */
  readonly cas: (node: TestHost, key: string, token: string | undefined, value: number) => Promise<Outcome>
}

/** The register workload over the kv HTTP API (`/v1/kv/<key>`, revisions as ETags). */
export const kvDriver = (o: {
  readonly timeoutMs: number
  readonly credentials: ApiCredentials
  readonly readConsistency?: "linearizable" | "serializable" | undefined
}): RegisterDriver => {
  const url = (node: TestHost, key: string) => `${baseUrl(node)}/v1/kv/${key}`
  const auth = apiHeaders(o.credentials)
  return {
    read: async (node, key, final) => {
      const query = !final && o.readConsistency === "serializable" ? "?consistency=serializable" : ""
      const r = readOutcome(await request(`${url(node, key)}${query}`, { method: "GET", headers: auth, timeoutMs: o.timeoutMs }))
      return { type: r.type, value: r.value, token: r.revision === 0 ? undefined : String(r.revision) }
    },
    write: async (node, key, value) => writeOutcome(await request(url(node, key), { method: "PUT", body: String(value), headers: auth, timeoutMs: o.timeoutMs }), false),
    cas: async (node, key, token, value) => {
      const headers = apiHeaders(o.credentials, token === undefined ? { "if-none-match": "*" } : { "if-match": `"${token}"` })
      return writeOutcome(await request(url(node, key), { method: "PUT", body: String(value), headers, timeoutMs: o.timeoutMs }), true)
    }
  }
}

/** Runs the workers until the duration or their op budget runs out. */
export const runWorkload = async (o: WorkloadOptions): Promise<WorkloadCounts> => {
  const counts: WorkloadCounts = { ok: 0, fail: 0, info: 0 }
  const { record } = o.recorder
  const driver = o.driver
  const pick = <T>(xs: ReadonlyArray<T>): T => xs[Math.floor(o.random() * xs.length)]!
  const worker = async (process: number) => {
    const lastRead = new Map<string, { readonly value: Value; readonly token: string | undefined }>()
    let counter = 0
    for (let n = 0; n < o.maxOpsPerClient && !o.signal.aborted && o.recorder.now() < o.durationMs * 1e6; n++) {
      await sleep(1 + Math.floor(o.random() * 20), o.signal)
      if (o.signal.aborted) break
      const key = `k${Math.floor(o.random() * o.keys)}`
      const node = pick(o.nodes)
      const dice = o.random()
      if (dice < 0.4) {
        record({ process, type: "invoke", f: "read", value: [key, null] })
        const r = await driver.read(node, key, false)
        if (r.type === "ok") lastRead.set(key, { value: r.value, token: r.token })
        record({ process, type: r.type, f: "read", value: [key, r.value] })
        counts[r.type]++
      } else if (dice < 0.7) {
        const v = process * 1_000_000 + ++counter
        record({ process, type: "invoke", f: "write", value: [key, v] })
        const type = await driver.write(node, key, v)
        record({ process, type, f: "write", value: [key, v] })
        counts[type]++
      } else {
        const seen = lastRead.get(key) ?? { value: null, token: undefined }
        const v = process * 1_000_000 + ++counter
        record({ process, type: "invoke", f: "cas", value: [key, [seen.value, v]] })
        const type = await driver.cas(node, key, seen.token, v)
        record({ process, type, f: "cas", value: [key, [seen.value, v]] })
        counts[type]++
      }
    }
  }
  await Promise.all(Array.from({ length: o.clients }, (_, p) => worker(p)))
  return counts
}

/**
 * The final reads, after the cluster healed: one linearizable read per key,
 * retried (bounded) through every node until one answers. Each attempt is
 * recorded (as process `process`), so the final values are part of the
 * checked history. Returns the values found; a key no node answered for is
 * missing from the map.
 */
export const finalReads = async (o: {
  readonly nodes: ReadonlyArray<TestHost>
  readonly keys: number
  readonly process: number
  readonly attempts: number
  readonly timeoutMs: number
  readonly recorder: Recorder
  readonly signal: AbortSignal
  readonly driver: RegisterDriver
}): Promise<Map<string, Value>> => {
  const driver = o.driver
  const found = new Map<string, Value>()
  for (let k = 0; k < o.keys; k++) {
    const key = `k${k}`
    for (let a = 0; a < o.attempts && !o.signal.aborted; a++) {
      const node = o.nodes[a % o.nodes.length]!
      o.recorder.record({ process: o.process, type: "invoke", f: "read", value: [key, null] })
      const r = await driver.read(node, key, true)
      o.recorder.record({ process: o.process, type: r.type, f: "read", value: [key, r.value] })
      if (r.type === "ok") {
        found.set(key, r.value)
        break
      }
      await sleep(250, o.signal)
    }
  }
  return found
}
