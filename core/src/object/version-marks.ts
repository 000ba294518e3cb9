/**
 * How an object record says which version it is, and what a record shows
 * (`infoOf`).
 *
 * Versioning rides in a record's `checksums` pairs (never shown to clients), so the record format
 * stays as it is and records written before versioning read as unversioned:
 *   ["version-seq", n]     the version's sequence number among the key's versions (absent: 0, a
 *                          version written in an unversioned bucket); names its non-current key
 *   ["versioned", "1"]     written while versioning was enabled (absent: the "null" version)
 *   ["delete-marker", "1"] a delete marker (size 0, empty inline body)
 */
import { NULL_VERSION, type ObjectInfo } from "./object-api.ts"
import type { ObjectMeta } from "./metadata.ts"

export const SEQ = "version-seq"
export const VERSIONED = "versioned"
export const MARKER = "delete-marker"
const pairValue = (meta: ObjectMeta, name: string) => meta.checksums.find(([n]) => n === name)?.[1]
export const seqOf = (meta: ObjectMeta) => Number(pairValue(meta, SEQ) ?? "0")
export const isVersioned = (meta: ObjectMeta) => pairValue(meta, VERSIONED) !== undefined
export const isDeleteMarker = (meta: ObjectMeta) => pairValue(meta, MARKER) !== undefined
/** The public version id (see `ObjectInfo.version`). */
const publicVersion = (meta: ObjectMeta) => (isVersioned(meta) ? meta.versionId : pairValue(meta, SEQ) !== undefined ? NULL_VERSION : undefined)
/** The id a version listing or a version-id read knows the version by. */
export const listedVersion = (meta: ObjectMeta) => publicVersion(meta) ?? NULL_VERSION

export const infoOf = (meta: ObjectMeta): ObjectInfo => ({
  bucket: meta.bucket,
  key: meta.key,
  versionId: meta.versionId,
  version: publicVersion(meta),
  size: meta.size,
  createdMs: meta.createdMs,
  crc32c: meta.contentCrc32c,
  attributes: meta.userMetadata,
  parts: meta.body.kind === "parts" ? meta.body.parts.length : 0
})
