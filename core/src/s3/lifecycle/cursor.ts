/**
 * The lifecycle cursor: how far the leader's current pass over the buckets
 * got, stored in the Raft KV (`\0c/lifecycle`) so that a new leader, or
 * this one after a restart, resumes the pass where it stopped.
 *
 * A pass walks the buckets by name; in each bucket with rules, first its
 * versions (the version listing's key and version-id markers, and what the
 * judge remembers of the key it is in), then its multipart uploads. The
 * totals count the whole pass (the metrics' "pass progress").
 *
 * Stored as JSON with a version field; an unreadable value is no cursor (a
 * fresh pass, which only costs a scan: every action is idempotent).
 */
import type { KeyState } from "./judge.ts"
import { decodeJsonRecord } from "../../codec/json-record.ts"

export interface LifecycleTotals {
  readonly entriesScanned: number
  readonly objectsExpired: number
  readonly versionsExpired: number
  readonly markersRemoved: number
  readonly uploadsAborted: number
}

export interface LifecycleCursor {
  readonly pass: number
  /** Wall-clock ms the pass started and (when done) finished. */
  readonly startedMs: number
  readonly finishedMs: number | undefined
  readonly done: boolean
  /** The bucket being worked on; buckets before it (by name) are done this pass. undefined: none yet. */
  readonly bucket: string | undefined
  readonly phase: "versions" | "uploads"
  /** Where the bucket's version listing resumes (its keyMarker and versionIdMarker). */
  readonly keyMarker: string | undefined
  readonly versionIdMarker: string | undefined
  /** The judge's memory of the key the listing is in (a key's versions may span pages). */
  readonly keyState: KeyState | undefined
  readonly totals: LifecycleTotals
}

export const noTotals: LifecycleTotals = { entriesScanned: 0, objectsExpired: 0, versionsExpired: 0, markersRemoved: 0, uploadsAborted: 0 }

export const freshCursor = (pass: number, startedMs: number): LifecycleCursor => ({
  pass,
  startedMs,
  finishedMs: undefined,
  done: false,
  bucket: undefined,
  phase: "versions",
  keyMarker: undefined,
  versionIdMarker: undefined,
  keyState: undefined,
  totals: noTotals
})

const VERSION = 1
const encoder = new TextEncoder()

export const encodeCursor = (c: LifecycleCursor): Uint8Array => encoder.encode(JSON.stringify({ v: VERSION, ...c }))

const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0
const optional = <T>(x: unknown, is: (x: unknown) => x is T): x is T | undefined => x === undefined || is(x)
const isString = (x: unknown): x is string => typeof x === "string"

const decodeKeyState = (x: unknown): KeyState | undefined | "bad" => {
  if (x === undefined) return undefined
  if (typeof x !== "object" || x === null) return "bad"
  const o = x as Record<string, unknown>
  if (!isString(o.key) || !isCount(o.newerCreatedMs) || !isCount(o.noncurrentSeen)) return "bad"
  return { key: o.key, newerCreatedMs: o.newerCreatedMs, noncurrentSeen: o.noncurrentSeen }
}

const decodeTotals = (x: unknown): LifecycleTotals | undefined => {
  if (typeof x !== "object" || x === null) return undefined
  const o = x as Record<string, unknown>
  const counts = [o.entriesScanned, o.objectsExpired, o.versionsExpired, o.markersRemoved, o.uploadsAborted]
  if (!counts.every(isCount)) return undefined
  const [entriesScanned, objectsExpired, versionsExpired, markersRemoved, uploadsAborted] = counts as ReadonlyArray<number>
  return { entriesScanned: entriesScanned!, objectsExpired: objectsExpired!, versionsExpired: versionsExpired!, markersRemoved: markersRemoved!, uploadsAborted: uploadsAborted! }
}

export const decodeCursor = (bytes: Uint8Array): LifecycleCursor | undefined => {
  const o = decodeJsonRecord(bytes)
  if (o === undefined) return undefined
  if (o.v !== VERSION || !isCount(o.pass) || !isCount(o.startedMs) || !optional(o.finishedMs, isCount) || typeof o.done !== "boolean") return undefined
  if (!optional(o.bucket, isString) || (o.phase !== "versions" && o.phase !== "uploads")) return undefined
  if (!optional(o.keyMarker, isString) || !optional(o.versionIdMarker, isString)) return undefined
  const keyState = decodeKeyState(o.keyState)
  const totals = decodeTotals(o.totals)
  if (keyState === "bad" || totals === undefined) return undefined
  return {
    pass: o.pass,
    startedMs: o.startedMs,
    finishedMs: o.finishedMs,
    done: o.done,
    bucket: o.bucket,
    phase: o.phase,
    keyMarker: o.keyMarker,
    versionIdMarker: o.versionIdMarker,
    keyState,
    totals
  }
}
