/**
 * The object write path shared by puts, delete markers and completed
 * uploads: write a body and build the record that names it
 * (`writeRecord`), then commit that record as the key's current version
 * (`commitAny`): in an unversioned bucket one compare-and-set on the key,
 * in a versioned one first a copy of the replaced version to its
 * non-current key (`commitVersion`).
 *
 * A body is written (to at least its write quorum of shards, the rest
 * recorded missing and listed in repair's dirty set) before its record is
 * committed, so a committed record never names a shard it does not know
 * about; a body whose record
 * never commits is garbage for `garbage.ts`. Each commit returns the bodies
 * no record names any more, for the caller to free after it.
 */
import { Effect, type Stream } from "effect"
import { afterPrefix, degradedKey, invertedSeq, MAX_VERSION_SEQ, objectKey, seqOfVersionKey, versionKey, versionsOf } from "./catalog-keys.ts"
import { ObjectCatalogError, type Catalog } from "./catalog.ts"
import { assert } from "../invariant/invariant.ts"
import type { BucketRecord } from "./buckets.ts"
import { encodeObjectMeta, isDegraded, type ObjectBody, type ObjectMeta } from "./metadata.ts"
import { type FinishBody, isVersionId, ObjectBodyError, PreconditionFailedError, type PutCondition } from "./object-api.ts"
import { isDeleteMarker, isVersioned, SEQ, seqOf, VERSIONED } from "./version-marks.ts"

/** Why `condition` fails against the current version, or undefined. */
export const conditionProblem = (current: ObjectMeta | undefined, condition: PutCondition | undefined): string | undefined => {
  if (condition === undefined) return undefined
  if (condition.ifAbsent === true && current !== undefined) return "the key exists"
  if (condition.ifVersion !== undefined && current?.versionId !== condition.ifVersion) return "the key's version differs"
  return undefined
}

export type Commits = ReturnType<typeof makeCommits>

const encoder = new TextEncoder()

export const makeCommits = (catalog: Catalog) => {
  const { data, clock, random, maxWriteMs, get, range, scanAll, cas, casSmall, decodeMeta, readObject, newId, wallMs } = catalog

  /**
   * Commits `meta` as the key's current version if `condition` holds,
   * retrying on concurrent changes; returns the replaced version.
   */
  const commitObject = (meta: ObjectMeta, condition: PutCondition | undefined) =>
    Effect.gen(function*() {
      const value = encodeObjectMeta(meta)
      for (;;) {
        const current = yield* readObject(meta.bucket, meta.key)
        const problem = conditionProblem(current?.meta, condition)
        if (problem !== undefined) return yield* new PreconditionFailedError({ message: problem })
        const r = yield* cas(objectKey(meta.bucket, meta.key), current?.revision ?? 0, value)
        if (r.ok) return current?.meta
      }
    })

  /**
   * Writes a body and builds the record that will name it (not yet committed). A body that took
   * longer than `maxWriteMs` is refused here: garbage collection may already be removing it.
   */
  const writeRecord = <E>(
    input: { readonly bucket: string; readonly key: string; readonly body: Stream.Stream<Uint8Array, E>; readonly size: number | undefined; readonly finish: FinishBody<E> },
    checksums: ObjectMeta["checksums"],
    recordKey: string
  ) =>
    Effect.gen(function*() {
      const started = yield* clock.monotonicMs
      const bodyId = yield* newId
      const written = yield* data.write(bodyId, input.body, input.size)
      if (isDegraded(written.body)) {
        // Repair's dirty set, written before the record commits so that no degraded record is ever
        // unlisted; an entry whose record never commits is dropped by repair (see repair.ts).
        yield* cas(degradedKey(bodyId), 0, encoder.encode(recordKey))
      }
      const attributes = yield* input.finish({ size: written.size, crc32c: written.crc32c })
      if ((yield* clock.monotonicMs) - started > maxWriteMs) {
        return yield* new ObjectBodyError({ message: `the body took longer than ${maxWriteMs} ms to arrive; send it again` })
      }
      const meta: ObjectMeta = {
        bucket: input.bucket,
        key: input.key,
        versionId: bodyId,
        size: written.size,
        createdMs: yield* wallMs,
        contentCrc32c: written.crc32c,
        checksums,
        userMetadata: attributes,
        body: written.body
      }
      // ObjectData refuses a body of another length than announced, and names its shards by the id it was given
      // (garbage collection and repair find them by it).
      assert(input.size === undefined || written.size === input.size, () => `a body announced as ${input.size} bytes was stored as ${written.size}`)
      assert(written.body.kind === "inline" || written.body.id === bodyId, () => `body ${bodyId} stored under another id`)
      return { meta, written }
    })

  /** Removes every non-current null version of a key; returns their bodies. */
  const removeNullVersions = (bucket: string, key: string) =>
    Effect.gen(function*() {
      const freed: Array<ObjectBody> = []
      for (const item of yield* scanAll(versionsOf(bucket, key))) {
        const meta = yield* decodeMeta(item.value)
        if (isVersioned(meta)) continue
        const r = yield* casSmall(item.key, item.revision, undefined)
        if (r.ok) freed.push(meta.body)
      }
      return freed
    })

  /**
   * Commits `base` as the key's current version in a versioned (enabled or suspended) bucket, if
   * `condition` holds. The replaced current version is first copied to its non-current key (a
   * compare-and-set there too), unless both it and the new one are null versions (suspended:
   * the null version is replaced). A crash between the two writes leaves a copy of the current
   * version among the non-current ones; reads and listings ignore a non-current record with the
   * current version's id. Returns the committed record and the bodies no record names any more.
   */
  const commitVersion = (base: ObjectMeta, condition: PutCondition | undefined, mode: "enabled" | "suspended") =>
    Effect.gen(function*() {
      const { bucket, key } = base
      for (;;) {
        const current = yield* readObject(bucket, key)
        const currentMeta = current?.meta
        const problem = conditionProblem(currentMeta === undefined || isDeleteMarker(currentMeta) ? undefined : currentMeta, condition)
        if (problem !== undefined) return yield* new PreconditionFailedError({ message: problem })
        const newest = yield* range(versionsOf(bucket, key), afterPrefix(versionsOf(bucket, key)), 1)
        const seq = Math.max(currentMeta === undefined ? 0 : seqOf(currentMeta), newest.items.length === 0 ? 0 : seqOfVersionKey(newest.items[0]!.key)) + 1
        if (seq > MAX_VERSION_SEQ) return yield* Effect.die(new ObjectCatalogError({ message: `${key}: too many versions` }))
        const versionId = mode === "enabled"
          ? `${invertedSeq(seq)}-${(yield* random.nextUint32).toString(36)}${(yield* random.nextUint32).toString(36)}`
          : base.versionId
        // A read by version id is one get: the id's digits name the version's non-current key.
        assert(mode === "suspended" || (isVersionId(versionId) && MAX_VERSION_SEQ - Number(versionId.slice(0, 15)) === seq), () => `version id ${versionId} does not name seq ${seq}`)
        assert(currentMeta === undefined || seq > seqOf(currentMeta), "a new version is newer than the one it replaces")
        const next: ObjectMeta = {
          ...base,
          versionId,
          checksums: [...base.checksums, [SEQ, String(seq)], ...(mode === "enabled" ? [[VERSIONED, "1"] as const] : [])]
        }
        const keep = currentMeta !== undefined && !(mode === "suspended" && !isVersioned(currentMeta))
        let created: { readonly key: string; readonly revision: number } | undefined
        if (keep) {
          const kept = versionKey(bucket, key, seqOf(currentMeta))
          const existing = yield* get(kept)
          const w = yield* casSmall(kept, existing.found ? existing.revision : 0, encodeObjectMeta(currentMeta))
          if (!w.ok) continue
          if (!existing.found) created = { key: kept, revision: w.revision }
        }
        const r = yield* cas(objectKey(bucket, key), current?.revision ?? 0, encodeObjectMeta(next))
        if (!r.ok) {
          // Someone else changed the key first: a copy only this attempt made would duplicate it.
          if (created !== undefined) yield* casSmall(created.key, created.revision, undefined)
          continue
        }
        const freed: Array<ObjectBody> = keep || currentMeta === undefined ? [] : [currentMeta.body]
        if (mode === "suspended") freed.push(...(yield* removeNullVersions(bucket, key)))
        return { meta: next, freed }
      }
    })

  /** Commits a new current version as the bucket's versioning asks; returns the bodies to remove. */
  const commitAny = (meta: ObjectMeta, condition: PutCondition | undefined, mode: BucketRecord["versioning"]) =>
    mode === undefined
      ? Effect.map(commitObject(meta, condition), (replaced) => ({ meta, freed: replaced === undefined ? [] : [replaced.body] }))
      : commitVersion(meta, condition, mode)

  return { writeRecord, commitVersion, commitAny }
}
