/**
 * The admin routes behind `cairn admin backup` and `restore` (admin key
 * only, like every `/v1/admin/` route):
 *
 * - `GET /v1/admin/backup`: a linearizable read barrier (ReadIndex: this
 *   node has applied every write acknowledged before the request arrived),
 *   then, in one synchronous step with nothing interleaved, every key of
 *   this node's applied KV state machine: the state at exactly one Raft
 *   index, encoded as backup-file.ts describes. A node that cannot confirm
 *   the barrier answers 503 with the leader's API address.
 * - `POST /v1/admin/restore` with such a file as the body: writes every key
 *   the cluster lacks (compare-and-set on "absent", through Raft, 16 at a
 *   time), skips keys already holding the same value (so a restore that
 *   stopped can be run again), and refuses, writing nothing, when any key
 *   holds a different value (the target is not the fresh cluster a restore
 *   is for). The cluster's own records (`\0cairn/…`: members, drains,
 *   zones, capacity weights, Kafka listeners) are never restored: they
 *   describe the cluster being restored into, whose nodes publish their own. Keys get new revisions; nothing in the
 *   catalogue keeps another key's revision, so that changes nothing.
 */
import type { KvServer, NodeId } from "@cairn/core"
import { keyAfter } from "@cairn/core/object/catalog-keys"
import type { KvClient } from "@cairn/core/kv/client"
import { MAX_RANGE_LIMIT } from "@cairn/core/kv/command"
import type { KvStateMachine } from "@cairn/core/kv/state-machine"
import { checkSignedBody, readBody } from "@cairn/core/kv-api/body"
import { ConflictError, errorResponse, ForbiddenError, InvalidRequestError, type KvApiError, LeaderUnavailableError, MethodNotAllowedError, TooLargeError, UnavailableError } from "@cairn/core/kv-api/errors"
import type { BodyReadError, KvApiPrincipal, KvApiRequest } from "@cairn/core/kv-api/request"
import { type KvApiResponseHead, jsonResponse } from "@cairn/core/kv-api/response"
import type { Digest } from "@cairn/core/s3/digest"
import { Effect } from "effect"
import { type Backup, type BackupEntry, decodeBackup, encodeBackup } from "./backup-file.ts"

/** Where the cluster's own records live (members.ts, zones.ts, weights.ts, kafka/brokers.ts): never restored. */
export const CLUSTER_RECORD_PREFIX = "\u0000cairn/"
/**
 * Where the background workers keep their progress (`REBALANCE_KEY`, `LIFECYCLE_KEY`): never restored.
 * A cursor describes a pass over the source cluster; the cluster restored into runs its own passes and
 * may have written its cursor already, which made a restore into a fresh cluster refuse it as a conflict.
 */
export const WORKER_CURSOR_PREFIX = "\u0000c/"

const isClusterOwn = (key: string): boolean => key.startsWith(CLUSTER_RECORD_PREFIX) || key.startsWith(WORKER_CURSOR_PREFIX)

export const BACKUP_PATH = "/v1/admin/backup"
export const RESTORE_PATH = "/v1/admin/restore"

/** A restore body may hold this much metadata (it is held in memory while restoring). */
export const MAX_RESTORE_BYTES = 1024 * 1024 * 1024

/** Keys written at once while restoring: enough to fill Raft's batches, few enough to keep the leader responsive. */
const RESTORE_CONCURRENCY = 16

export interface BackupRoutesContext {
  readonly id: string
  readonly kv: KvServer
  /** Writes restored keys through Raft (the object layer's in-process client, which forwards to the leader). */
  readonly metadata: KvClient
  /** Where a member's API listens, for the leader hint of a 503. */
  readonly apiAddress: (id: NodeId) => string | undefined
  readonly requestTimeoutMs: number
}

export const isBackupRoute = (path: string): boolean => path === BACKUP_PATH || path === RESTORE_PATH

/** Every key and value of `machine`, in key order, read in one synchronous pass (one applied index). */
const allEntries = (machine: KvStateMachine): Array<BackupEntry> => {
  const entries: Array<BackupEntry> = []
  let start = ""
  for (;;) {
    const page = machine.range(start, undefined, MAX_RANGE_LIMIT)
    if (page.type !== "range") throw new Error(`range over the state machine answered ${page.type}: ${page.message}`)
    for (const item of page.items) entries.push({ key: item.key, value: item.value })
    if (!page.more || page.items.length === 0) return entries
    start = keyAfter(page.items[page.items.length - 1]!.key)
  }
}

/** Waits until this node has applied every write acknowledged before now (a ReadIndex round), or names the leader. */
const barrier = (ctx: BackupRoutesContext): Effect.Effect<void, LeaderUnavailableError> =>
  ctx.kv.query({ op: "get", key: "\u0000cairn/backup-barrier" }, "linearizable", ctx.requestTimeoutMs).pipe(
    Effect.asVoid,
    Effect.catchTag("NotLeaderError", (e) =>
      Effect.flatMap(ctx.kv.raft.status, (s) => {
        const leader = e.leader ?? s.leader
        return Effect.fail(new LeaderUnavailableError({ what: "backup barrier not confirmed by a leader", leader, leaderApi: leader === undefined ? undefined : ctx.apiAddress(leader) }))
      }))
  )

const takeBackup = (ctx: BackupRoutesContext): Effect.Effect<KvApiResponseHead, KvApiError> =>
  Effect.gen(function*() {
    yield* barrier(ctx)
    const status = yield* ctx.kv.raft.status
    // Synchronous from here: no Raft entry can be applied between reading the index and the last key.
    const machine = ctx.kv.stateMachine
    const appliedIndex = machine.appliedIndex
    const entries = allEntries(machine)
    const backup: Backup = {
      header: { createdAt: new Date().toISOString(), node: ctx.id, leader: status.leader ?? null, term: status.term, appliedIndex, keys: entries.length },
      entries
    }
    const bytes = encodeBackup(backup)
    return {
      status: 200,
      headers: [["content-type", "application/octet-stream"], ["content-length", String(bytes.length)], ["x-cairn-backup-applied-index", String(appliedIndex)], ["x-cairn-backup-keys", String(entries.length)]],
      body: bytes
    }
  })

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** A key for a message: JSON-quoted (reserved keys start with NUL). */
const shown = (key: string) => JSON.stringify(key)

/** Splits the backup against what this node holds now: to write, already there, the cluster's own records skipped; or the conflicts. */
const plan = (machine: KvStateMachine, entries: ReadonlyArray<BackupEntry>) => {
  const missing: Array<BackupEntry> = []
  const conflicts: Array<string> = []
  let unchanged = 0
  let skipped = 0
  for (const e of entries) {
    if (isClusterOwn(e.key)) {
      skipped++
      continue
    }
    const now = machine.get(e.key)
    if (!now.found) missing.push(e)
    else if (sameBytes(now.value, e.value)) unchanged++
    else conflicts.push(e.key)
  }
  return { missing, conflicts, unchanged, skipped }
}

const restoreFailed = (done: number, total: number, why: string) =>
  new UnavailableError({ message: `restore stopped after writing ${done} of ${total} keys (${why}); run it again: keys already restored are skipped` })

/** Writes `missing`, each created only if still absent; returns how many were written and which were taken meanwhile. */
const writeMissing = (ctx: BackupRoutesContext, missing: ReadonlyArray<BackupEntry>) =>
  Effect.gen(function*() {
    let written = 0
    const taken: Array<string> = []
    yield* Effect.forEach(missing, (e) =>
      ctx.metadata.write({ op: "cas", key: e.key, expected: "absent", value: e.value }).pipe(
        Effect.mapError((err) => restoreFailed(written, missing.length, err.message)),
        Effect.flatMap((r) => {
          if (r.type === "cas" && r.ok) written++
          else if (r.type === "cas") taken.push(e.key)
          else return Effect.fail(restoreFailed(written, missing.length, `key ${shown(e.key)}: ${r.type === "error" ? r.message : r.type}`))
          return Effect.void
        })
      ), { concurrency: RESTORE_CONCURRENCY, discard: true })
    return { written, taken }
  })

const restore = (ctx: BackupRoutesContext, request: KvApiRequest, principal: KvApiPrincipal): Effect.Effect<KvApiResponseHead, KvApiError | BodyReadError, Digest> =>
  Effect.gen(function*() {
    const tooLarge = () => new TooLargeError({ code: "too-large", message: `a backup to restore is at most ${MAX_RESTORE_BYTES} bytes`, closeConnection: true })
    const body = yield* readBody(request, MAX_RESTORE_BYTES, tooLarge)
    yield* checkSignedBody(principal, body)
    const backup = decodeBackup(body)
    if (!("entries" in backup)) return yield* new InvalidRequestError({ code: "bad-backup", message: backup.message })
    yield* barrier(ctx)
    const { missing, conflicts, unchanged, skipped } = plan(ctx.kv.stateMachine, backup.entries)
    if (conflicts.length > 0) {
      return yield* new ConflictError({
        code: "not-empty",
        message: `refused, nothing written: ${conflicts.length} keys already hold other values (${conflicts.slice(0, 3).map(shown).join(", ")}${conflicts.length > 3 ? ", ..." : ""}); restore into a fresh cluster (docs/backup.md)`
      })
    }
    const { written, taken } = yield* writeMissing(ctx, missing)
    const summary = { restored: written, unchanged, skippedClusterRecords: skipped, backupAppliedIndex: backup.header.appliedIndex, backupKeys: backup.header.keys }
    if (taken.length > 0) {
      return yield* new ConflictError({ code: "changed-during-restore", message: `${written} keys restored, but ${taken.length} were written by someone else meanwhile (${taken.slice(0, 3).map(shown).join(", ")})` })
    }
    return jsonResponse(200, summary)
  })

/** Answers a backup or restore request from an authenticated caller; every refusal is an error response. */
export const serveBackupRoute = (ctx: BackupRoutesContext, request: KvApiRequest, principal: KvApiPrincipal, path: string): Effect.Effect<KvApiResponseHead, never, Digest> => {
  const served: Effect.Effect<KvApiResponseHead, KvApiError | BodyReadError, Digest> = !principal.admin
    ? Effect.fail(new ForbiddenError({ message: `admin endpoints need the admin's access key; ${principal.accessKey} belongs to user ${principal.user}` }))
    : path === BACKUP_PATH
    ? request.method === "GET" ? takeBackup(ctx) : Effect.fail(new MethodNotAllowedError({ message: `${BACKUP_PATH} takes GET`, allow: "GET" }))
    : request.method === "POST"
    ? restore(ctx, request, principal)
    : Effect.fail(new MethodNotAllowedError({ message: `${RESTORE_PATH} takes POST`, allow: "POST" }))
  return served.pipe(
    Effect.catchTag("BodyReadError", (e) => Effect.succeed(jsonResponse(400, { error: "body-read", message: e.message }))),
    Effect.catch((e: KvApiError) => Effect.succeed(errorResponse(e)))
  )
}
