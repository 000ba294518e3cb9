/**
 * The clients of the rolling-upgrade test, running without pause while
 * nodes restart:
 *
 * - S3 through the balancer with the AWS SDK v3 in its `standard` retry
 *   mode (full jitter backoff). Readers and the writer of small objects
 *   (inline, at most 4 KiB) use the SDK's defaults untouched (3 attempts).
 *   The writer of larger objects (copied or erasure-coded bodies) uses the
 *   SDK with `maxAttempts: 10`: such a write needs every node its shards
 *   are placed on (docs/objects.md), so while a node restarts it answers
 *   503 and only a client that keeps retrying for the restart's length
 *   gets through (with 3 attempts, the first run saw them fail). Each
 *   PutObject writes a fresh key; each GetObject reads an acknowledged key
 *   and checks its bytes.
 * - KV writers through the HTTP API, as the KV client library does: any
 *   node, following the 503's leader hint, retrying a refused connection, a
 *   503 or a 504 with the SDK's backoff (full jitter, base 100 ms); a put
 *   writes one value per key, so retrying a 504 is safe.
 *
 * A request that still fails after its retries is a failure of the test.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3"
import { createHash, randomBytes } from "node:crypto"
import { apiUrl, authed } from "../../runtime-node/src/server/cluster-processes.test-support.ts"
import type { LocalNodeSpec } from "../../runtime-node/src/server/local-cluster.ts"

/** KV attempts per put (the SDK's standard mode makes 3; see docs/upgrades.md for why KV gets more). */
export const KV_MAX_ATTEMPTS = 6

export interface Counts {
  ok: number
  /** Succeeded after more than one attempt. */
  retried: number
  failed: number
  attempts: number
  maxAttempts: number
}

const counts = (): Counts => ({ ok: 0, retried: 0, failed: 0, attempts: 0, maxAttempts: 0 })

export interface Workload {
  readonly s3SmallPuts: Counts
  readonly s3LargePuts: Counts
  readonly s3Gets: Counts
  readonly kvPuts: Counts
  /** Acknowledged S3 writes: key → SHA-256 of the body. */
  readonly objects: Map<string, string>
  /** Acknowledged KV writes: key → value. */
  readonly kv: Map<string, string>
  readonly failures: Array<string>
  readonly stop: () => Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
/** The SDK's standard backoff: full jitter over 100 ms × 2^attempt, at most 20 s. */
const backoff = (attempt: number) => sleep(Math.floor(Math.random() * Math.min(20_000, 100 * 2 ** attempt)))

/** Object sizes a writer draws from: inline bodies (at most 4 KiB), or copied and striped ones. */
export type SizeClass = "small" | "large"
const sizeOf = (c: SizeClass) => c === "small" ? 1 + Math.floor(Math.random() * 4096) : 8_192 + Math.floor(Math.random() * 200_000)

const s3Writer = (client: S3Client, bucket: string, w: Workload, size: SizeClass, running: () => boolean) => async () => {
  const c = size === "small" ? w.s3SmallPuts : w.s3LargePuts
  for (let i = 0; running(); i++) {
    const key = `${size}-${i}`
    const body = new Uint8Array(randomBytes(sizeOf(size)))
    try {
      const r = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
      const attempts = r.$metadata.attempts ?? 1
      c.ok++
      c.attempts += attempts
      c.maxAttempts = Math.max(c.maxAttempts, attempts)
      if (attempts > 1) c.retried++
      w.objects.set(key, sha(body))
    } catch (e) {
      c.failed++
      w.failures.push(`PutObject ${key}: ${(e as Error).name}: ${(e as Error).message}`)
    }
  }
}

const s3Reader = (client: S3Client, bucket: string, w: Workload, running: () => boolean) => async () => {
  while (running()) {
    const keys = [...w.objects.keys()]
    if (keys.length === 0) {
      await sleep(50)
      continue
    }
    const key = keys[Math.floor(Math.random() * keys.length)]!
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      const body = await r.Body!.transformToByteArray()
      const attempts = r.$metadata.attempts ?? 1
      w.s3Gets.attempts += attempts
      w.s3Gets.maxAttempts = Math.max(w.s3Gets.maxAttempts, attempts)
      if (attempts > 1) w.s3Gets.retried++
      if (sha(body) === w.objects.get(key)) w.s3Gets.ok++
      else {
        w.s3Gets.failed++
        w.failures.push(`GetObject ${key}: the body read back differs from the one written`)
      }
    } catch (e) {
      w.s3Gets.failed++
      w.failures.push(`GetObject ${key}: ${(e as Error).name}: ${(e as Error).message}`)
    }
  }
}

/** One KV put with retries; returns the attempts it took, or why it failed for good. */
export const kvPut = async (nodes: ReadonlyArray<LocalNodeSpec>, key: string, value: string): Promise<number | string> => {
  let target = nodes[Math.floor(Math.random() * nodes.length)]!
  let last = "no attempt"
  for (let attempt = 1; attempt <= KV_MAX_ATTEMPTS; attempt++) {
    try {
      const r = await authed(`${apiUrl(target)}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(10_000) })
      const text = await r.text()
      if (r.status === 200) return attempt
      if (r.status !== 503 && r.status !== 504) return `${r.status} ${text.trim()}`
      last = `${r.status} ${text.trim()}`
      const hint = r.headers.get("x-cairn-leader-api")
      target = nodes.find((n) => hint === `127.0.0.1:${n.apiPort}`) ?? nodes[(nodes.indexOf(target) + 1) % nodes.length]!
    } catch (e) {
      last = `${(e as Error).message} (${target.id})`
      target = nodes[(nodes.indexOf(target) + 1) % nodes.length]!
    }
    if (attempt < KV_MAX_ATTEMPTS) await backoff(attempt)
  }
  return `${KV_MAX_ATTEMPTS} attempts: ${last}`
}

const kvWriter = (nodes: ReadonlyArray<LocalNodeSpec>, w: Workload, name: string, running: () => boolean) => async () => {
  for (let i = 0; running(); i++) {
    const key = `${name}-${i}`
    const value = `${key}:${randomBytes(12).toString("hex")}`
    const outcome = await kvPut(nodes, key, value)
    if (typeof outcome === "number") {
      w.kvPuts.ok++
      w.kvPuts.attempts += outcome
      w.kvPuts.maxAttempts = Math.max(w.kvPuts.maxAttempts, outcome)
      if (outcome > 1) w.kvPuts.retried++
      w.kv.set(key, value)
    } else {
      w.kvPuts.failed++
      w.failures.push(`KV PUT ${key}: ${outcome}`)
    }
  }
}

/** Starts the clients; `stop` lets each finish its request in flight. */
export const startWorkload = (clients: { readonly defaults: S3Client; readonly patient: S3Client }, bucket: string, nodes: ReadonlyArray<LocalNodeSpec>): Workload => {
  let running = true
  const isRunning = () => running
  let loops: Array<Promise<void>> = []
  const stop = async () => {
    running = false
    await Promise.all(loops)
  }
  const w: Workload = { s3SmallPuts: counts(), s3LargePuts: counts(), s3Gets: counts(), kvPuts: counts(), objects: new Map(), kv: new Map(), failures: [], stop }
  loops = [
    s3Writer(clients.defaults, bucket, w, "small", isRunning),
    s3Writer(clients.patient, bucket, w, "large", isRunning),
    s3Reader(clients.defaults, bucket, w, isRunning),
    kvWriter(nodes, w, "kva", isRunning),
    kvWriter(nodes, w, "kvb", isRunning)
  ].map((loop) => loop())
  return w
}
