/**
 * The pieces behind /metrics and the logs, in this process: S3 series and
 * log levels from real S3 exchanges, the catalog census against a real
 * catalog, capacity and sweep gauges, process metrics shared by several
 * servers' registries, the scrape cache, and the access log's target.
 */
import { KvStateMachine } from "@cairn/core/kv/state-machine"
import type { RepairReport } from "@cairn/core/object/repair"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Registry } from "prom-client"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { S3Exchange } from "../s3/exchange.ts"
import { ADMIN, startTestS3, type TestS3 } from "../s3/harness.test-support.ts"
import { signRequest } from "../s3/sign-request.ts"
import { openAccessLog, parseAccessLogTarget } from "./access-log.ts"
import { countCatalog } from "./catalog-census.ts"
import { rawFromEnv, resolveConfig, ServerConfigError } from "./config.ts"
import { setLogLevel, setLogSink } from "../log/log.ts"
import { makeMetrics } from "./metrics.ts"
import { makeS3Metrics } from "./s3-metrics.ts"
import { cachedForScrapes } from "./scrape-cache.ts"
import { makeStorageMetrics } from "./storage-metrics.ts"

const sample = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

/** Scrapes until `done` holds (background refreshes land a scrape or two later), at most 100 times. */
const scrapeUntil = async (registry: Registry, done: (text: string) => boolean): Promise<string> => {
  let text = ""
  for (let i = 0; i < 100 && !done(text = await registry.metrics()); i++) await new Promise((r) => setTimeout(r, 10))
  return text
}

const send = async (s3: TestS3, method: string, path: string, body?: string, secretKey = ADMIN.secretKey): Promise<number> => {
  const url = new URL(`${s3.endpoint}${path}`)
  const headers = signRequest({ accessKey: ADMIN.accessKey, secretKey, region: "us-east-1" }, { method, url, ...(body === undefined ? {} : { body }) })
  const r = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) })
  await r.arrayBuffer()
  return r.status
}

describe("S3 exchanges: metrics, log levels, the catalog census", () => {
  let s3: TestS3
  const registry = new Registry()
  const s3Metrics = makeS3Metrics(registry, () => 0)
  const exchanges: Array<S3Exchange> = []
  const logs: Array<Record<string, unknown>> = []

  beforeAll(async () => {
    s3 = await startTestS3({ onExchange: (x) => {
      exchanges.push(x)
      s3Metrics.observe(x)
    } })
    setLogLevel("debug")
    setLogSink((line) => void logs.push(JSON.parse(line) as Record<string, unknown>))
  })
  afterAll(async () => {
    setLogLevel("error")
    await s3?.close()
  })

  it("counts requests by operation and status, with latency and body bytes", async () => {
    const body = "x".repeat(12_345)
    expect(await send(s3, "PUT", "/metrics-bucket")).toBe(200)
    expect(await send(s3, "PUT", "/metrics-bucket/a", body)).toBe(200)
    expect(await send(s3, "PUT", "/metrics-bucket/b", body)).toBe(200)
    expect(await send(s3, "GET", "/metrics-bucket/a")).toBe(200)
    expect(await send(s3, "GET", "/metrics-bucket/nothing")).toBe(404)
    expect(await send(s3, "GET", "/metrics-bucket?list-type=2")).toBe(200)
    const text = await registry.metrics()
    expect(sample(text, 'cairn_s3_requests_total{operation="PutObject",code="200"}')).toBe(2)
    expect(sample(text, 'cairn_s3_requests_total{operation="CreateBucket",code="200"}')).toBe(1)
    expect(sample(text, 'cairn_s3_requests_total{operation="GetObject",code="404"}')).toBe(1)
    expect(sample(text, 'cairn_s3_requests_total{operation="ListObjectsV2",code="200"}')).toBe(1)
    expect(sample(text, 'cairn_s3_request_bytes_total{operation="PutObject"}')).toBe(2 * body.length)
    expect(sample(text, 'cairn_s3_response_bytes_total{operation="GetObject"}')).toBeGreaterThan(body.length)
    expect(sample(text, 'cairn_s3_request_duration_seconds_count{operation="PutObject"}')).toBe(2)
    expect(sample(text, 'cairn_s3_request_duration_seconds_bucket{le="300",operation="GetObject"}')).toBe(2)
    const get = exchanges.find((x) => x.operation === "GetObject" && x.status === 200)!
    expect(get).toMatchObject({ bucket: "metrics-bucket", key: "a", bytesOut: body.length, user: "admin", accessKey: ADMIN.accessKey, complete: true })
    expect(get.requestId).toMatch(/^[0-9A-F]{16}$/)
  })

  it("logs client errors at info, routine answers at debug, and 501 at info, never at error", async () => {
    logs.length = 0
    expect(await send(s3, "GET", "/metrics-bucket/nothing")).toBe(404)
    expect(await send(s3, "GET", "/metrics-bucket/a", undefined, "a-wrong-secret-key-0123456789")).toBe(403)
    expect(await send(s3, "GET", "/metrics-bucket?policy")).toBe(501)
    const levelOf = (pred: (l: Record<string, unknown>) => boolean) => logs.filter(pred).map((l) => `${l.level} ${l.msg}`)
    expect(levelOf((l) => l.status === 404)).toEqual(["debug s3 request"])
    expect(levelOf((l) => l.status === 403)).toEqual(["info s3 client error"])
    expect(levelOf((l) => l.status === 501)).toEqual(["info s3 operation not implemented"])
    expect(logs.find((l) => l.status === 403)).toMatchObject({ errorCode: "SignatureDoesNotMatch", operation: "GetObject" })
    expect(logs.filter((l) => l.level === "error")).toEqual([])
  })

  it("counts the catalog: buckets, uploads, current and non-current versions, delete markers", async () => {
    const versioning = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
    expect(await send(s3, "PUT", "/census-bucket")).toBe(200)
    expect(await send(s3, "PUT", "/census-bucket?versioning", versioning)).toBe(200)
    expect(await send(s3, "PUT", "/census-bucket/k", "one")).toBe(200)
    expect(await send(s3, "PUT", "/census-bucket/k", "second")).toBe(200)
    expect(await send(s3, "PUT", "/census-bucket/gone", "12345")).toBe(200)
    expect(await send(s3, "DELETE", "/census-bucket/gone")).toBe(204)
    expect(await send(s3, "POST", "/census-bucket/big?uploads")).toBe(200)
    const census = await countCatalog(() => s3.kv.stateMachine)
    // metrics-bucket (a, b: 12 345 bytes each) and census-bucket.
    expect(census).toEqual({
      buckets: 2,
      uploads: 1,
      currentObjects: 3,
      currentBytes: 2 * 12_345 + "second".length,
      noncurrentObjects: 2,
      noncurrentBytes: "one".length + "12345".length,
      deleteMarkers: 1,
      unreadable: 0,
      // One node: metrics-bucket's two 12 345-byte bodies are chunks on n1; the rest live inline in their records.
      shardsByNode: new Map([["n1", 2]])
    })
    expect(exchanges.some((x) => x.operation === "CreateMultipartUpload" && x.status === 200)).toBe(true)
  })
})

describe("capacity and sweep gauges", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-storage-metrics-"))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
  let leader = true
  const registry = new Registry()
  const storage = makeStorageMetrics(registry, { dataDir, state: () => new KvStateMachine(), isLeader: () => leader, cache: { minTtlMs: 0, maxShare: 1 } })
  const repair = (lost: ReadonlyArray<string>, unavailable: ReadonlyArray<string>): RepairReport => ({ records: 7, shardsChecked: 21, shardsRebuilt: 2, shardsMoved: 1, marksCleared: 0, rebuiltFrom: ["n2", "n3"], lost, lostDetail: [], unavailable, stillDegraded: 0 })

  it("reads the shard and Raft directories and the filesystem at scrape time", async () => {
    let text = await registry.metrics()
    expect(sample(text, "cairn_node_shards")).toBe(0)
    mkdirSync(join(dataDir, "shards"))
    mkdirSync(join(dataDir, "raft", "wal"), { recursive: true })
    writeFileSync(join(dataDir, "shards", "a.0.0.shard"), new Uint8Array(100))
    writeFileSync(join(dataDir, "shards", "b.0.1.shard"), new Uint8Array(50))
    writeFileSync(join(dataDir, "raft", "wal", "segment"), new Uint8Array(1000))
    writeFileSync(join(dataDir, "raft", "hard-state"), new Uint8Array(24))
    // The first scrape after the change may still see the old walk (refreshed in the background).
    text = await scrapeUntil(registry, (t) => sample(t, "cairn_node_shards") === 2)
    expect(sample(text, "cairn_node_shards")).toBe(2)
    expect(sample(text, "cairn_node_shard_bytes")).toBe(150)
    expect(sample(text, "cairn_node_raft_bytes")).toBe(1024)
    expect(sample(text, "cairn_disk_size_bytes")).toBeGreaterThan(0)
    expect(sample(text, "cairn_disk_available_bytes")).toBeGreaterThan(0)
    expect(sample(text, 'cairn_catalog_objects{version="current"}')).toBe(0)
    expect(sample(text, 'cairn_metrics_cache_age_seconds{figure="shards"}')).toBeGreaterThanOrEqual(0)
  })

  it("counts repair and GC sweeps; only a leader exports what its last repair left unrepaired", async () => {
    storage.onSweep({ kind: "repair", report: repair(["o1.0"], ["o2.0", "o3.1"]) })
    storage.onSweep({ kind: "repair", report: repair([], ["o2.0"]) })
    storage.onSweep({ kind: "gc", report: { localShards: 10, orphanShards: 3, removedShards: 2, removedPartRecords: 1, misplacedShards: 0 } })
    let text = await registry.metrics()
    expect(sample(text, "cairn_repair_sweeps_total")).toBe(2)
    expect(sample(text, "cairn_repair_shards_rebuilt_total")).toBe(4)
    expect(sample(text, "cairn_repair_shards_moved_total")).toBe(2)
    expect(sample(text, "cairn_repair_shards_checked_total")).toBe(42)
    expect(sample(text, 'cairn_repair_unrepaired_stripes{reason="lost"}')).toBe(0)
    expect(sample(text, 'cairn_repair_unrepaired_stripes{reason="unavailable"}')).toBe(1)
    expect(sample(text, "cairn_repair_last_sweep_records")).toBe(7)
    expect(sample(text, "cairn_gc_sweeps_total")).toBe(1)
    expect(sample(text, "cairn_gc_shards_removed_total")).toBe(2)
    expect(sample(text, "cairn_gc_part_records_removed_total")).toBe(1)
    expect(sample(text, "cairn_gc_orphan_shards")).toBe(3)
    expect(sample(text, "cairn_gc_last_sweep_timestamp_seconds")).toBeGreaterThan(1.7e9)
    leader = false
    text = await registry.metrics()
    expect(sample(text, 'cairn_repair_unrepaired_stripes{reason="unavailable"}')).toBeUndefined()
    expect(sample(text, "cairn_repair_sweeps_total")).toBe(2)
    leader = true
  })

  it("counts dirty-set sweeps and the missing shards they wrote; the leader exports the records still degraded", async () => {
    storage.onSweep({ kind: "repair-degraded", report: { ...repair([], []), records: 3, marksCleared: 2, stillDegraded: 1 } })
    let text = await registry.metrics()
    expect(sample(text, "cairn_repair_degraded_sweeps_total")).toBe(1)
    expect(sample(text, "cairn_repair_missing_shards_written_total")).toBe(2)
    expect(sample(text, "cairn_repair_degraded_records")).toBe(1)
    expect(sample(text, "cairn_repair_dirty_set_entries")).toBe(3)
    // A dirty-set sweep is not a full sweep: the full sweep's figures stay those of the last full one.
    expect(sample(text, "cairn_repair_sweeps_total")).toBe(2)
    expect(sample(text, "cairn_repair_last_sweep_records")).toBe(7)
    leader = false
    text = await registry.metrics()
    expect(sample(text, "cairn_repair_degraded_records")).toBeNaN()
    leader = true
  })

  it("counts rebalancing's moves and bytes; the leader exports its pass's progress and pending shards", async () => {
    const cursor = { membership: "n1@n1*1", prefix: 0, after: "k", done: false, pass: 1, settling: false, records: 100, shardsMoved: 12, bytesMoved: 4096, shardsDeferred: 2 }
    storage.onSweep({ kind: "rebalance", report: { records: 100, shardsMoved: 12, bytesMoved: 4096, shardsDeferred: 2, cursor, passEnded: undefined } })
    storage.onSweep({ kind: "rebalance", report: { records: 5, shardsMoved: 1, bytesMoved: 100, shardsDeferred: 0, cursor: { ...cursor, records: 105, shardsMoved: 13, done: true }, passEnded: undefined } })
    let text = await registry.metrics()
    expect(sample(text, "cairn_rebalance_shards_moved_total")).toBe(13)
    expect(sample(text, "cairn_rebalance_bytes_moved_total")).toBe(4196)
    expect(sample(text, "cairn_rebalance_shards_deferred_total")).toBe(2)
    expect(sample(text, "cairn_rebalance_records_checked_total")).toBe(105)
    expect(sample(text, "cairn_rebalance_pass_done")).toBe(1)
    expect(sample(text, "cairn_rebalance_pass_records")).toBe(105)
    expect(sample(text, "cairn_rebalance_shards_pending")).toBe(2)
    leader = false
    text = await registry.metrics()
    expect(sample(text, "cairn_rebalance_pass_done")).toBeNaN()
    leader = true
  })

  it("reads NaN, not 0, for a figure it cannot read, and keeps serving the rest", async () => {
    const broken = new Registry()
    makeStorageMetrics(broken, { dataDir: join(dataDir, "no-such-dir"), state: () => new KvStateMachine(), isLeader: () => true, cache: { minTtlMs: 0, maxShare: 1 } })
    const text = await broken.metrics()
    expect(sample(text, "cairn_disk_available_bytes")).toBeNaN()
    expect(sample(text, "cairn_node_shards")).toBe(0)
    expect(sample(text, "cairn_repair_sweeps_total")).toBe(0)
  })
})

describe("process metrics", () => {
  it("appear in every server's registry of one process, each server keeping its own Raft figures", async () => {
    const raft = (term: number) => () => ({ role: "leader", term, commit: 5, applied: 5, lastIndex: 5, hasLeader: true })
    const a = makeMetrics(raft(3))
    const b = makeMetrics(raft(7))
    const [ta, tb] = [await a.registry.metrics(), await b.registry.metrics()]
    for (const text of [ta, tb]) {
      expect(sample(text, "process_cpu_seconds_total")).toBeGreaterThan(0)
      expect(sample(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0)
      expect(text).toContain("# TYPE nodejs_gc_duration_seconds histogram")
    }
    expect(sample(ta, "cairn_raft_term")).toBe(3)
    expect(sample(tb, "cairn_raft_term")).toBe(7)
  })
})

describe("scrape cache", () => {
  it("serves the last value at once and refreshes a stale one in the background, one computation at a time", async () => {
    let now = 0
    let computed = 0
    const read = cachedForScrapes({ minTtlMs: 1000, now: () => now }, async () => ++computed)
    expect((await Promise.all([read(), read()])).map((c) => c?.value)).toEqual([1, 1])
    now = 999
    expect((await read())?.value).toBe(1)
    now = 1000
    // Stale: this scrape still gets 1, and starts the recomputation.
    expect((await read())?.value).toBe(1)
    await new Promise((r) => setImmediate(r))
    expect((await read())?.value).toBe(2)
    expect(computed).toBe(2)
  })

  it("waits longer between costly computations: at most maxShare of the time", async () => {
    let now = 0
    let computed = 0
    // Each computation takes 50 "ms": with a 1 % share it is redone at most every 5 s.
    const read = cachedForScrapes({ minTtlMs: 100, maxShare: 0.01, now: () => now }, async () => {
      now += 50
      return ++computed
    })
    expect((await read())?.value).toBe(1)
    now += 4_000
    await read()
    await new Promise((r) => setImmediate(r))
    expect(computed).toBe(1)
    now += 1_000
    await read()
    await new Promise((r) => setImmediate(r))
    expect(computed).toBe(2)
  })

  it("answers undefined rather than make the first scrape wait long", async () => {
    const read = cachedForScrapes({ minTtlMs: 1000, firstWaitMs: 10 }, () => new Promise<number>(() => {}))
    expect(await read()).toBeUndefined()
  })

  it("drops its value when a computation fails, and the next scrape sees the failure", async () => {
    let now = 0
    let fail = false
    const read = cachedForScrapes({ minTtlMs: 1000, now: () => now }, async () => {
      if (fail) throw new Error("disk gone")
      return "ok"
    })
    expect((await read())?.value).toBe("ok")
    fail = true
    now = 5000
    expect((await read())?.value).toBe("ok")
    await new Promise((r) => setImmediate(r))
    await expect(read()).rejects.toThrow("disk gone")
    fail = false
    expect((await read())?.value).toBe("ok")
  })
})

describe("access log", () => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-access-log-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const exchange: S3Exchange = {
    operation: "PutObject", method: "PUT", bucket: "b", key: "k/é", status: 200, errorCode: undefined, requestId: "0123456789ABCDEF",
    user: "alice", accessKey: "ALICEKEY00000001", bytesIn: 10, bytesOut: 0, seconds: 0.0123, complete: true, remote: "127.0.0.1"
  }

  it("is off unless asked for; stderr, or a file path", () => {
    expect(parseAccessLogTarget(undefined)).toBeUndefined()
    expect(parseAccessLogTarget("off")).toBeUndefined()
    expect(parseAccessLogTarget(" stderr ")).toEqual({ kind: "stderr" })
    expect(parseAccessLogTarget("/var/log/cairn/access.log")).toEqual({ kind: "file", path: "/var/log/cairn/access.log" })
    const fromEnv = resolveConfig(rawFromEnv({ CAIRN_ACCESS_LOG: "/tmp/a.log" }))
    expect(fromEnv instanceof ServerConfigError ? fromEnv.message : fromEnv.accessLog).toEqual({ kind: "file", path: "/tmp/a.log" })
    const none = resolveConfig({})
    expect(none instanceof ServerConfigError ? none.message : none.accessLog).toBeUndefined()
  })

  it("appends one JSON line per exchange to its file", async () => {
    const path = join(dir, "access.log")
    writeFileSync(path, "an earlier line\n")
    const log = openAccessLog({ kind: "file", path })
    log.write(exchange)
    log.write({ ...exchange, status: 404, errorCode: "NoSuchKey", user: undefined, accessKey: undefined, complete: false })
    await log.close()
    const lines = readFileSync(path, "utf8").split("\n")
    expect(lines[0]).toBe("an earlier line")
    expect(JSON.parse(lines[1]!)).toMatchObject({ msg: "s3 access", requestId: "0123456789ABCDEF", user: "alice", accessKey: "ALICEKEY00000001", operation: "PutObject", bucket: "b", key: "k/é", status: 200, errorCode: null, bytesIn: 10, bytesOut: 0, ms: 12.3 })
    expect(JSON.parse(lines[2]!)).toMatchObject({ status: 404, errorCode: "NoSuchKey", user: null, complete: false })
    expect(lines[3]).toBe("")
  })

  it("refuses a file it cannot open", () => {
    expect(() => openAccessLog({ kind: "file", path: join(dir, "no-such-dir", "access.log") })).toThrow(/ENOENT/)
  })
})
