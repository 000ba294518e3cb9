/**
 * The lifecycle worker: applies the buckets' lifecycle rules, on the Raft
 * leader only, in passes over every bucket that has rules.
 *
 * - Resumable: the pass's position is a cursor in the Raft KV
 *   (cursor.ts), written with a compare-and-set after every page, so a new
 *   leader (or this one after a restart) resumes where the pass stopped.
 *   A pass that is done waits `passEveryMs` before the next starts.
 * - Idempotent: a page done twice (the cursor write lost to a crash or to
 *   another leader) changes nothing more, because every removal goes
 *   through the store's own delete and abort, each a compare-and-set
 *   against the record judged (`deleteObject`'s `ifVersion`): a version
 *   overwritten since it was judged is never removed, and a current
 *   version already expired is not expired twice (its delete marker is
 *   current now).
 * - Client semantics: it removes exactly as a client's DELETE would
 *   (a delete marker in a versioned or suspended bucket, the object in an
 *   unversioned one, a version by id, AbortMultipartUpload), so garbage
 *   collection, versioning and listings stay right.
 * - Throttled: at most `actionsPerSecond` removals and `entriesPerSecond`
 *   listed entries (token buckets on this node's monotonic clock), so
 *   client traffic keeps the metadata path.
 * - Time is the Clock's wall time: the simulator and tests run days in no
 *   time, and `dayMs` shortens a day for tests (dates.ts).
 */
import { Effect, Result } from "effect"
import type { ClockShape } from "../../clock/clock.ts"
import type { KvClient } from "../../kv/client.ts"
import { type BucketInfo, type ObjectStore, ObjectStoreUnavailableError, type VersionInfo } from "../../object/object-api.ts"
import { makeThrottle } from "../../object/throttle.ts"
import { decodeCursor, encodeCursor, freshCursor, type LifecycleCursor, type LifecycleTotals, noTotals } from "./cursor.ts"
import { DAY_MS, dueAfterDays } from "./dates.ts"
import { judge, type KeyState, type Verdict } from "./judge.ts"
import { filterMatches } from "./match.ts"
import { type LifecycleRule, lifecycleRulesOf } from "./rules.ts"

/** Where the leader's lifecycle cursor lives (reserved: starts with NUL). */
export const LIFECYCLE_KEY = "\u0000c/lifecycle"

export interface LifecycleSettings {
  /** Versions listed per step (default 500). */
  readonly pageSize?: number
  /** Removals and aborts per second, at most (default 100). */
  readonly actionsPerSecond?: number
  /** Listed entries per second, at most (default 5000). */
  readonly entriesPerSecond?: number
  /** A pass starts this long after the previous one finished (default 1 hour). */
  readonly passEveryMs?: number
  /** How often the leader checks whether a pass is due (default 60 s). */
  readonly intervalMs?: number
  /** Test-only: the length of a lifecycle "day" (default 24 h; see dates.ts). */
  readonly dayMs?: number
}

export interface LifecycleConfig extends LifecycleSettings {
  readonly store: ObjectStore
  readonly kv: KvClient
  readonly clock: ClockShape
}

/** What one step did (counts of this step) and the cursor after it. */
export interface LifecycleStep extends LifecycleTotals {
  readonly cursor: LifecycleCursor
  /** Nothing to do: the last pass is done and the next is not due yet. */
  readonly idle: boolean
}

export interface LifecycleWorker {
  readonly step: Effect.Effect<LifecycleStep, ObjectStoreUnavailableError>
  readonly cursor: Effect.Effect<LifecycleCursor | undefined, ObjectStoreUnavailableError>
  /**
   * Steps through a due pass while `isLeader` holds, every `intervalMs`, forever; tells `onStep` each
   * step and `onError` a pass cut short (the store unreachable: the next interval resumes it).
   */
  readonly loop: (isLeader: Effect.Effect<boolean>, onStep: (step: LifecycleStep) => void, onError: (error: ObjectStoreUnavailableError) => void) => Effect.Effect<never>
}

const unavailable = (e: { readonly message: string }) => new ObjectStoreUnavailableError({ message: e.message, ambiguous: false })

type Counts = { -readonly [K in keyof LifecycleTotals]: number }

const addTotals = (a: LifecycleTotals, b: LifecycleTotals): LifecycleTotals => ({
  entriesScanned: a.entriesScanned + b.entriesScanned,
  objectsExpired: a.objectsExpired + b.objectsExpired,
  versionsExpired: a.versionsExpired + b.versionsExpired,
  markersRemoved: a.markersRemoved + b.markersRemoved,
  uploadsAborted: a.uploadsAborted + b.uploadsAborted
})

export const makeLifecycleWorker = (config: LifecycleConfig): LifecycleWorker => {
  const { store, kv, clock } = config
  const pageSize = config.pageSize ?? 500
  const passEveryMs = config.passEveryMs ?? 3_600_000
  const dayMs = config.dayMs ?? DAY_MS
  const actions = makeThrottle(clock, config.actionsPerSecond ?? 100)
  const entries = makeThrottle(clock, config.entriesPerSecond ?? 5000)

  const readCursor = Effect.gen(function*() {
    const r = yield* Effect.mapError(kv.read({ op: "get", key: LIFECYCLE_KEY }), unavailable)
    if (r.type !== "get" || !r.found) return { cursor: undefined, revision: "absent" as const }
    return { cursor: decodeCursor(r.value), revision: r.revision }
  })

  /** Whether a current delete marker is its key's only version (checked just before removing it). */
  const isSoleMarker = (bucket: string, marker: VersionInfo) =>
    Effect.map(store.listVersions({ bucket, prefix: marker.key, maxKeys: 2 }), (listed) => {
      const own = listed.versions.filter((v) => v.key === marker.key)
      return own.length === 1 && own[0]!.versionId === marker.versionId && own[0]!.deleteMarker
    })

  /** Carries out a verdict; returns whether the entry still exists after it (the listing resumes after one that does). */
  const act = (bucket: BucketInfo, entry: VersionInfo, verdict: Verdict, counts: Counts) =>
    Effect.gen(function*() {
      if (verdict.action === "keep") return true
      if (verdict.action === "remove-marker-if-sole" && !(yield* isSoleMarker(bucket.name, entry))) return true
      yield* actions.take(1)
      const byId = verdict.action === "expire-current" ? undefined : entry.version ?? "null"
      const done = yield* Effect.result(store.deleteObject(bucket.name, entry.key, byId, { ifVersion: entry.versionId }))
      // Changed since it was judged: left as it is; the next pass judges it again.
      if (Result.isFailure(done)) {
        if (done.failure._tag === "PreconditionFailedError") return true
        return yield* done.failure
      }
      if (verdict.action === "expire-current") {
        counts.objectsExpired++
        // In a versioned (or suspended) bucket the version stays, noncurrent behind a delete marker.
        return bucket.versioning === "enabled" || (bucket.versioning === "suspended" && entry.version !== "null" && entry.version !== undefined)
      }
      if (done.success.existed) {
        if (verdict.action === "remove-marker-if-sole") counts.markersRemoved++
        else counts.versionsExpired++
      }
      return false
    })

  /** One page of a bucket's versions: judge and act on each entry, then say where the listing resumes. */
  const versionsPage = (cursor: LifecycleCursor, bucket: BucketInfo, rules: ReadonlyArray<LifecycleRule>, nowMs: number, counts: Counts) =>
    Effect.gen(function*() {
      const page = yield* store.listVersions({
        bucket: bucket.name,
        maxKeys: pageSize,
        ...(cursor.keyMarker === undefined ? {} : { keyMarker: cursor.keyMarker }),
        ...(cursor.versionIdMarker === undefined ? {} : { versionIdMarker: cursor.versionIdMarker })
      })
      yield* entries.take(page.versions.length)
      let state: KeyState | undefined = cursor.keyState
      // The listing resumes after the last entry that still exists (its own markers name it).
      let resume = { keyMarker: cursor.keyMarker, versionIdMarker: cursor.versionIdMarker }
      for (const entry of page.versions) {
        const judged = judge({ rules, entry, state, nowMs, dayMs })
        state = judged.next
        counts.entriesScanned++
        const expiredBefore = counts.objectsExpired
        const exists = yield* act(bucket, entry, judged.verdict, counts)
        if (exists) resume = { keyMarker: entry.key, versionIdMarker: entry.version ?? "null" }
        // A current version expired behind a delete marker is noncurrent now: the key's older versions count it.
        if (exists && counts.objectsExpired > expiredBefore) state = { ...state, noncurrentSeen: state.noncurrentSeen + 1 }
      }
      if (!page.truncated) return { ...cursor, phase: "uploads" as const, keyMarker: undefined, versionIdMarker: undefined, keyState: undefined }
      return { ...cursor, ...resume, keyState: state }
    })

  /** A bucket's multipart uploads: abort those past DaysAfterInitiation of a rule whose prefix they match. */
  const abortUploads = (bucket: BucketInfo, rules: ReadonlyArray<LifecycleRule>, nowMs: number, counts: Counts) =>
    Effect.gen(function*() {
      const uploads = yield* store.listUploads(bucket.name)
      yield* entries.take(uploads.length)
      for (const upload of uploads) {
        counts.entriesScanned++
        // Tags cannot go with this action (parse.ts) and an upload has no size yet: the prefix decides.
        const due = rules.some((rule) =>
          rule.enabled && rule.abortIncompleteMultipartUpload !== undefined && upload.key.startsWith(rule.filter.prefix ?? "") &&
          filterMatches({ ...rule.filter, sizeGreaterThan: undefined, sizeLessThan: undefined }, { key: upload.key, size: 0, tags: [] }) &&
          dueAfterDays(upload.createdMs, rule.abortIncompleteMultipartUpload.daysAfterInitiation, dayMs) <= nowMs
        )
        if (!due) continue
        yield* actions.take(1)
        // Completed or aborted meanwhile: gone already, which is what this wanted.
        const aborted = yield* Effect.result(store.abortUpload(bucket.name, upload.key, upload.uploadId))
        if (Result.isSuccess(aborted)) counts.uploadsAborted++
        else if (aborted.failure._tag !== "NoSuchUploadError") return yield* aborted.failure
      }
    })

  /** The first bucket at or after the cursor's with enabled rules, and its rules; undefined: the pass is through. */
  const currentBucket = (cursor: LifecycleCursor) =>
    Effect.gen(function*() {
      const buckets = [...yield* store.listBuckets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      for (const bucket of buckets) {
        if (cursor.bucket !== undefined && bucket.name < cursor.bucket) continue
        const rules = lifecycleRulesOf(bucket.attributes)?.filter((r) => r.enabled)
        if (rules !== undefined && rules.length > 0) return { bucket, rules }
      }
      return undefined
    })

  /** One step of the pass in `cursor` (at `nowMs`): a page of versions, or a bucket's uploads. */
  const advance = (cursor: LifecycleCursor, nowMs: number, counts: Counts) =>
    Effect.gen(function*() {
      const current = yield* currentBucket(cursor)
      if (current === undefined) return { ...cursor, done: true, finishedMs: nowMs, bucket: undefined }
      const { bucket, rules } = current
      // A new bucket (the one before was finished, or deleted): start at its first version.
      const at: LifecycleCursor = bucket.name === cursor.bucket
        ? cursor
        : { ...cursor, bucket: bucket.name, phase: "versions", keyMarker: undefined, versionIdMarker: undefined, keyState: undefined }
      const moved = at.phase === "versions"
        ? versionsPage(at, bucket, rules, nowMs, counts)
        // Bucket names never hold NUL: name + NUL is the first name after this bucket's.
        : Effect.as(abortUploads(bucket, rules, nowMs, counts), { ...at, bucket: `${bucket.name}\u0000`, phase: "versions" as const })
      // A bucket deleted under the pass: go on with the next one.
      return yield* Effect.catchTag(moved, "NoSuchBucketError", () => Effect.succeed({ ...at, bucket: `${bucket.name}\u0000`, phase: "versions" as const }))
    })

  const step: LifecycleWorker["step"] = Effect.gen(function*() {
    const nowMs = yield* clock.wallMs
    const stored = yield* readCursor
    let cursor = stored.cursor ?? freshCursor(1, nowMs)
    if (cursor.done) {
      if (nowMs - (cursor.finishedMs ?? 0) < passEveryMs) return { ...noTotals, cursor, idle: true }
      cursor = freshCursor(cursor.pass + 1, nowMs)
    }
    const counts: Counts = { ...noTotals }
    const moved = yield* advance(cursor, nowMs, counts)
    const next: LifecycleCursor = { ...moved, totals: addTotals(cursor.totals, counts) }
    // A lost race (another leader moved the cursor) only repeats a page: every action is idempotent.
    yield* Effect.mapError(kv.write({ op: "cas", key: LIFECYCLE_KEY, expected: stored.revision, value: encodeCursor(next) }), unavailable)
    return { ...counts, cursor: next, idle: false }
  })

  const loop: LifecycleWorker["loop"] = (isLeader, onStep, onError) => {
    const pass = Effect.gen(function*() {
      while (yield* isLeader) {
        const s = yield* step
        onStep(s)
        if (s.idle || s.cursor.done) return
      }
    })
    const reported = Effect.catch(pass, (e) => Effect.sync(() => onError(e)))
    return Effect.forever(Effect.andThen(clock.sleep(config.intervalMs ?? 60_000), reported))
  }

  return { step, cursor: Effect.map(readCursor, (c) => c.cursor), loop }
}
