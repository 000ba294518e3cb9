/**
 * The lifecycle worker over a real one-node store (Raft KV and object
 * layer on the in-memory runtime) with an instant clock that the tests
 * move forward by days: what expires when, as AWS documents it.
 */
import { inMemoryDisk, inMemoryNetwork, instantClock, seededRandom, seededSource } from "../index.ts"
import { Effect, Fiber, Layer, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { Clock } from "@cairn/core/clock/clock"
import { Disk } from "@cairn/core/disk/disk"
import { Network } from "@cairn/core/network/network"
import { Random } from "@cairn/core/random/random"
import { nodeId } from "@cairn/core/node/node-id"
import { makeStorageNode } from "@cairn/core/node/storage-node"
import type { Attributes, ObjectStore } from "@cairn/core/object/object-api"
import { S3Error } from "@cairn/core/s3/errors"
import { DAY_MS } from "@cairn/core/s3/lifecycle/dates"
import { parseLifecycleConfiguration } from "@cairn/core/s3/lifecycle/parse"
import { encodeRules, LIFECYCLE_ATTRIBUTE } from "@cairn/core/s3/lifecycle/rules"
import { type LifecycleSettings, type LifecycleWorker, makeLifecycleWorker } from "@cairn/core/s3/lifecycle/worker"
import { daysFromCivil } from "@cairn/core/s3/time"

const n1 = nodeId("n1")
/** The wall clock starts at 10:30 UTC on 2026-01-15 (AWS's example: Days 3 expires at 00:00 on the 19th). */
const START_MS = daysFromCivil(2026, 1, 15) * DAY_MS + 10.5 * 3_600_000
const HOUR = 3_600_000

interface World {
  readonly store: ObjectStore
  readonly clock: ReturnType<typeof instantClock>
  readonly worker: (settings?: LifecycleSettings) => LifecycleWorker
}

/** Runs `body` against a fresh one-node store whose wall clock reads START_MS at first. */
const withWorld = <A>(body: (w: World) => Effect.Effect<A, unknown>): Promise<A> => {
  const clock = instantClock(0, START_MS)
  const services = Layer.mergeAll(Layer.succeed(Clock, clock), Layer.succeed(Random, seededRandom(seededSource("lifecycle"))), Layer.succeed(Disk, inMemoryDisk()))
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const net = yield* inMemoryNetwork([n1])
        const node = yield* Effect.gen(() =>
          makeStorageNode({ id: n1, voters: [n1], kv: { dataDir: "raft" }, objects: { members: () => [{ id: n1, domain: "n1" }] } })
        ).pipe(Effect.provideService(Network, net.node(n1)))
        yield* Effect.forkScoped(node.run)
        while ((yield* node.kv.raft.status).role !== "leader") yield* Effect.yieldNow
        const store = node.objects.store
        const worker = (settings: LifecycleSettings = {}) => makeLifecycleWorker({ store, kv: node.objects.kv, clock, ...settings })
        return yield* body({ store, clock, worker })
      })
    ).pipe(Effect.provide(services)) as Effect.Effect<A>
  )
}

const encoder = new TextEncoder()
const put = (store: ObjectStore, bucket: string, key: string, attributes: Attributes = [], body = "data") =>
  store.putObject({ bucket, key, body: Stream.make(encoder.encode(body)), size: body.length, finish: () => Effect.succeed(attributes) })

const setRules = (store: ObjectStore, bucket: string, rules: string) => {
  const parsed = parseLifecycleConfiguration(encoder.encode(`<LifecycleConfiguration>${rules}</LifecycleConfiguration>`))
  if (parsed instanceof S3Error) throw new Error(parsed.message)
  return store.updateBucket(bucket, [[LIFECYCLE_ATTRIBUTE, encodeRules(parsed)]])
}

/** Sets the clock's wall time to `ms` (it only moves forward). */
const moveTo = (clock: World["clock"], ms: number) =>
  Effect.gen(function*() {
    const now = yield* clock.wallMs
    if (ms > now) clock.advance(ms - now)
  })

/** Steps one worker until its pass is done; the step counts summed. */
const runPass = (worker: LifecycleWorker) =>
  Effect.gen(function*() {
    const sum = { objectsExpired: 0, versionsExpired: 0, markersRemoved: 0, uploadsAborted: 0, steps: 0 }
    for (;;) {
      const s = yield* worker.step
      sum.steps++
      sum.objectsExpired += s.objectsExpired
      sum.versionsExpired += s.versionsExpired
      sum.markersRemoved += s.markersRemoved
      sum.uploadsAborted += s.uploadsAborted
      if (s.cursor.done || s.idle) return sum
      if (sum.steps > 1000) throw new Error("the pass does not end")
    }
  })

const keys = (store: ObjectStore, bucket: string) => Effect.map(store.listObjects({ bucket, maxKeys: 1000 }), (l) => l.objects.map((o) => o.key))
const versions = (store: ObjectStore, bucket: string) =>
  Effect.map(store.listVersions({ bucket, maxKeys: 1000 }), (l) => l.versions.map((v) => `${v.key}${v.deleteMarker ? "(marker)" : ""}${v.isLatest ? "*" : ""}`))

const midnightAfter = (days: number) => (Math.floor(START_MS / DAY_MS) + days) * DAY_MS

describe("the lifecycle worker", () => {
  it("expires current versions of an unversioned bucket at creation + Days, rounded up to midnight UTC, by prefix, tag and size", async () => {
    const out = await withWorld(({ store, clock, worker }) =>
      Effect.gen(function*() {
        yield* store.createBucket("b", "alice")
        yield* setRules(
          store,
          "b",
          "<Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>" +
            "<Rule><ID>tagged</ID><Filter><And><Tag><Key>tmp</Key><Value>yes</Value></Tag><ObjectSizeGreaterThan>4</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>" +
            "<Rule><ID>off</ID><Filter></Filter><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
        )
        yield* put(store, "b", "logs/a")
        yield* put(store, "b", "keep/b")
        yield* put(store, "b", "big-tmp", [["tag:tmp", "yes"]], "12345")
        yield* put(store, "b", "small-tmp", [["tag:tmp", "yes"]], "1234")
        const w = worker({ passEveryMs: 0 })
        const early = yield* runPass(w)
        const afterEarly = yield* keys(store, "b")
        // 00:00 on the 17th is creation + 1 day rounded up: the tagged rule is due; logs/ not yet.
        yield* moveTo(clock, midnightAfter(2) - HOUR)
        yield* runPass(w)
        const beforeMidnight = yield* keys(store, "b")
        yield* moveTo(clock, midnightAfter(2))
        const tagged = yield* runPass(w)
        const afterTagged = yield* keys(store, "b")
        yield* moveTo(clock, midnightAfter(4) - 1)
        yield* runPass(w)
        const beforeLogs = yield* keys(store, "b")
        yield* moveTo(clock, midnightAfter(4))
        const logs = yield* runPass(w)
        return { early, afterEarly, beforeMidnight, tagged, afterTagged, beforeLogs, logs, final: yield* keys(store, "b") }
      })
    )
    expect(out.early.objectsExpired).toBe(0)
    expect(out.afterEarly).toEqual(["big-tmp", "keep/b", "logs/a", "small-tmp"])
    expect(out.beforeMidnight).toEqual(out.afterEarly)
    expect(out.tagged.objectsExpired).toBe(1)
    expect(out.afterTagged).toEqual(["keep/b", "logs/a", "small-tmp"])
    expect(out.beforeLogs).toEqual(out.afterTagged)
    expect(out.logs.objectsExpired).toBe(1)
    expect(out.final).toEqual(["keep/b", "small-tmp"])
  })

  it("in a versioned bucket adds a delete marker, expires noncurrent versions NoncurrentDays after they became noncurrent keeping the newest, and removes the marker left alone", async () => {
    const out = await withWorld(({ store, clock, worker }) =>
      Effect.gen(function*() {
        yield* store.createBucket("v", "alice")
        yield* store.setBucketVersioning("v", "enabled")
        yield* setRules(
          store,
          "v",
          "<Rule><ID>cur</ID><Filter><Prefix>k</Prefix></Filter><Status>Enabled</Status><Expiration><Days>10</Days></Expiration></Rule>" +
            "<Rule><ID>old</ID><Filter><Prefix>k</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>" +
            "<Rule><ID>dm</ID><Filter><Prefix>m</Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>"
        )
        // Three versions of k; the oldest two become noncurrent on day 0 and day 1.
        yield* put(store, "v", "k", [], "one")
        yield* put(store, "v", "k", [], "two")
        yield* moveTo(clock, START_MS + DAY_MS)
        yield* put(store, "v", "k", [], "three")
        // m: one version hidden by a delete marker.
        yield* put(store, "v", "m")
        yield* store.deleteObject("v", "m")
        const w = worker({ passEveryMs: 0 })
        yield* moveTo(clock, midnightAfter(3))
        const first = yield* runPass(w)
        const afterFirst = yield* versions(store, "v")
        const second = yield* runPass(w)
        const afterSecond = yield* versions(store, "v")
        yield* moveTo(clock, midnightAfter(12))
        const third = yield* runPass(w)
        return { first, afterFirst, second, afterSecond, third, afterThird: yield* versions(store, "v"), current: yield* keys(store, "v") }
      })
    )
    // Pass 1 (day 3): k's oldest version goes (noncurrent since day 0, one newer noncurrent kept); m's
    // noncurrent version goes (noncurrent since day 0, Days 1); m's marker is not alone yet.
    expect(out.first).toMatchObject({ objectsExpired: 0, versionsExpired: 2, markersRemoved: 0 })
    expect(out.afterFirst).toEqual(["k*", "k", "m(marker)*"])
    // Pass 2: the marker is alone now, and goes.
    expect(out.second).toMatchObject({ versionsExpired: 0, markersRemoved: 1 })
    expect(out.afterSecond).toEqual(["k*", "k"])
    // Day 12: the current version of k (created day 1, Days 10) gets a delete marker and is now the
    // newest noncurrent version, kept by NewerNoncurrentVersions=1; the one behind it (noncurrent
    // since day 1, NoncurrentDays 2) is past its days and no longer among the newest: removed.
    expect(out.third).toMatchObject({ objectsExpired: 1, versionsExpired: 1 })
    expect(out.afterThird).toEqual(["k(marker)*", "k"])
    expect(out.current).toEqual([])
  })

  it("aborts incomplete multipart uploads DaysAfterInitiation after initiation, by prefix", async () => {
    const out = await withWorld(({ store, clock, worker }) =>
      Effect.gen(function*() {
        yield* store.createBucket("u", "alice")
        yield* setRules(store, "u", "<Rule><ID>mpu</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>")
        yield* store.createUpload("u", "tmp/a", [])
        yield* store.createUpload("u", "keep/b", [])
        const w = worker({ passEveryMs: 0 })
        // Initiated at 10:30 on the 15th: due at 00:00 on the 18th.
        yield* moveTo(clock, midnightAfter(3) - 1)
        const early = yield* runPass(w)
        yield* moveTo(clock, midnightAfter(3))
        const due = yield* runPass(w)
        return { early, due, left: (yield* store.listUploads("u")).map((u) => u.key) }
      })
    )
    expect(out.early.uploadsAborted).toBe(0)
    expect(out.due.uploadsAborted).toBe(1)
    expect(out.left).toEqual(["keep/b"])
  })

  it("resumes a pass from the cursor in the KV under a new worker (a new leader), expiring each object once", async () => {
    const out = await withWorld(({ store, clock, worker }) =>
      Effect.gen(function*() {
        yield* store.createBucket("r", "alice")
        yield* setRules(store, "r", "<Rule><ID>all</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>")
        for (let i = 0; i < 7; i++) yield* put(store, "r", `k${i}`)
        yield* moveTo(clock, midnightAfter(2))
        const first = worker({ pageSize: 3 })
        const one = yield* first.step
        const stored = yield* first.cursor
        // Another leader takes over with its own worker: it reads the cursor and goes on.
        const rest = yield* runPass(worker({ pageSize: 3 }))
        // A further worker finds the pass done and waits (passEveryMs), touching nothing.
        const idle = yield* worker({ pageSize: 3 }).step
        return { one, stored, rest, idle, left: yield* keys(store, "r") }
      })
    )
    expect(out.one.objectsExpired).toBe(3)
    expect(out.stored).toMatchObject({ bucket: "r", phase: "versions", done: false })
    expect(out.rest.objectsExpired).toBe(4)
    expect(out.idle.idle).toBe(true)
    expect(out.idle.cursor.totals.objectsExpired).toBe(7)
    expect(out.left).toEqual([])
  })

  it("runs its loop only while the node leads, and keeps to its removal rate", async () => {
    const out = await withWorld(({ store, clock, worker }) =>
      Effect.gen(function*() {
        yield* store.createBucket("l", "alice")
        yield* setRules(store, "l", "<Rule><ID>all</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>")
        for (let i = 0; i < 6; i++) yield* put(store, "l", `k${i}`)
        yield* moveTo(clock, midnightAfter(2))
        let leading = false
        const steps: Array<number> = []
        const errors: Array<string> = []
        const w = worker({ intervalMs: 1_000, actionsPerSecond: 2 })
        const fiber = yield* Effect.forkChild(w.loop(Effect.sync(() => leading), (s) => steps.push(s.objectsExpired), (e) => errors.push(e.message)))
        // A follower's loop wakes up and does nothing.
        for (let i = 0; i < 200; i++) yield* Effect.yieldNow
        const asFollower = { steps: steps.length, keys: (yield* keys(store, "l")).length }
        leading = true
        const startedMs = yield* clock.monotonicMs
        while (steps.reduce((a, b) => a + b, 0) < 6) yield* Effect.yieldNow
        const tookMs = (yield* clock.monotonicMs) - startedMs
        yield* Fiber.interrupt(fiber)
        return { asFollower, tookMs, errors, left: yield* keys(store, "l") }
      })
    )
    expect(out.asFollower).toEqual({ steps: 0, keys: 6 })
    expect(out.errors).toEqual([])
    expect(out.left).toEqual([])
    // Six removals at two a second (a bucket of two to start with): at least two seconds of the clock.
    expect(out.tookMs).toBeGreaterThanOrEqual(2_000)
  })

  it("removes only the version it judged: a delete conditioned on a version overwritten meanwhile changes nothing", async () => {
    const out = await withWorld(({ store }) =>
      Effect.gen(function*() {
        yield* store.createBucket("c", "alice")
        const first = yield* put(store, "c", "k", [], "old")
        yield* put(store, "c", "k", [], "new")
        const unversioned = yield* Effect.flip(store.deleteObject("c", "k", undefined, { ifVersion: first.versionId }))
        const afterUnversioned = yield* keys(store, "c")
        yield* store.setBucketVersioning("c", "enabled")
        const v1 = yield* put(store, "c", "j", [], "one")
        yield* put(store, "c", "j", [], "two")
        const versioned = yield* Effect.flip(store.deleteObject("c", "j", undefined, { ifVersion: v1.versionId }))
        // The judged version itself, by id and condition: removed.
        const byId = yield* store.deleteObject("c", "j", v1.version, { ifVersion: v1.versionId })
        // The null version ("new", unversioned) named by id but with another record's condition: refused.
        const nullReplaced = yield* Effect.flip(store.deleteObject("c", "k", "null", { ifVersion: first.versionId }))
        return { unversioned, afterUnversioned, versioned, byId, nullReplaced, versions: yield* versions(store, "c") }
      })
    )
    expect(out.unversioned._tag).toBe("PreconditionFailedError")
    expect(out.afterUnversioned).toEqual(["k"])
    expect(out.versioned._tag).toBe("PreconditionFailedError")
    expect(out.byId.existed).toBe(true)
    expect(out.nullReplaced._tag).toBe("PreconditionFailedError")
    expect(out.versions).toEqual(["j*", "k*"])
  })
})
