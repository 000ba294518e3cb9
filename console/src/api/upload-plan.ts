/**
 * The arithmetic of a multipart upload, apart from the network so that it
 * can be tested alone: which bytes of the file are which part, which parts
 * still have to be sent given the parts the node has acknowledged (what
 * ListParts returns), how many bytes that already is, and the
 * CompleteMultipartUpload body. Also whether a file chosen again is the
 * one a paused upload was sending, so it may be resumed.
 */

const MiB = 1024 * 1024
/** The part size of files up to 78 GiB, 10,000 parts (S3 allows 5 MiB to 5 GiB a part, and 10,000 parts). */
export const PART_SIZE = 8 * MiB
export const MAX_PARTS = 10_000

/** One part: its number (from 1) and its bytes, `start` included, `end` excluded. */
export interface PlannedPart {
  readonly partNumber: number
  readonly start: number
  readonly end: number
}

/** A part the node holds: its number, size and ETag (one `<Part>` of ListParts). */
export interface AckedPart {
  readonly partNumber: number
  readonly size: number
  readonly etag: string
}

/** 8 MiB, or, for a file so large that 10,000 of those would not hold it, the whole MiBs that do. */
export const partSizeFor = (size: number): number => Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB)

/** The parts of a file of `size` bytes: each `partSize` long but the last; an empty file is one empty part. */
export const planParts = (size: number, partSize: number = partSizeFor(size)): ReadonlyArray<PlannedPart> => {
  if (!Number.isInteger(size) || size < 0 || !Number.isInteger(partSize) || partSize < 1) throw new Error(`no plan for ${size} bytes in parts of ${partSize}`)
  const count = Math.max(1, Math.ceil(size / partSize))
  if (count > MAX_PARTS) throw new Error(`${size} bytes in parts of ${partSize} is ${count} parts; S3 allows ${MAX_PARTS}`)
  return Array.from({ length: count }, (_, i) => ({ partNumber: i + 1, start: i * partSize, end: Math.min(size, (i + 1) * partSize) }))
}

const partBytes = (p: PlannedPart): number => p.end - p.start

/** The acknowledged parts that are the planned ones (same number, same size), by number. */
const matching = (plan: ReadonlyArray<PlannedPart>, acked: ReadonlyArray<AckedPart>): ReadonlyMap<number, AckedPart> => {
  const planned = new Map(plan.map((p) => [p.partNumber, p]))
  const out = new Map<number, AckedPart>()
  for (const a of acked) {
    const p = planned.get(a.partNumber)
    if (p !== undefined && partBytes(p) === a.size && a.etag !== "") out.set(a.partNumber, a)
  }
  return out
}

/**
 * The parts still to send: those the node does not hold, or holds with another size (a part cut short, or of an
 * earlier plan); sending one again replaces it, as S3 does for a part number uploaded twice.
 */
export const partsToSend = (plan: ReadonlyArray<PlannedPart>, acked: ReadonlyArray<AckedPart>): ReadonlyArray<PlannedPart> => {
  const held = matching(plan, acked)
  return plan.filter((p) => !held.has(p.partNumber))
}

/** The bytes of the file the node already holds as planned parts (where a resumed progress bar starts). */
export const bytesAcked = (plan: ReadonlyArray<PlannedPart>, acked: ReadonlyArray<AckedPart>): number => {
  const held = matching(plan, acked)
  return plan.reduce((sum, p) => sum + (held.has(p.partNumber) ? partBytes(p) : 0), 0)
}

const escapeText = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** CompleteMultipartUpload's body: every planned part with the ETag the node gave it. Every part must be acknowledged. */
export const completionBody = (plan: ReadonlyArray<PlannedPart>, acked: ReadonlyArray<AckedPart>): string => {
  const held = matching(plan, acked)
  const missing = plan.filter((p) => !held.has(p.partNumber)).map((p) => p.partNumber)
  if (missing.length > 0) throw new Error(`parts ${missing.join(", ")} are not on the node yet`)
  const parts = plan.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeText(held.get(p.partNumber)!.etag)}</ETag></Part>`)
  return `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join("")}</CompleteMultipartUpload>`
}

/** What identifies a chosen file without reading it: a browser gives a file's name, size and modification time. */
export interface FileIdentity {
  readonly name: string
  readonly size: number
  readonly lastModified: number
}

/** A multipart upload left paused (or cut off by a reload), remembered so that choosing the same file resumes it. */
export interface PausedUpload {
  readonly bucket: string
  readonly key: string
  readonly uploadId: string
  readonly file: FileIdentity
  readonly partSize: number
  readonly startedMs: number
}

/**
 * Whether `file`, to be uploaded as `bucket`/`key`, is the file `paused` was sending: same destination, same name,
 * size and modification time, and the part size this file would be planned with. A file edited since has another
 * modification time and starts afresh.
 */
export const resumes = (paused: PausedUpload, bucket: string, key: string, file: FileIdentity): boolean =>
  paused.bucket === bucket && paused.key === key && paused.file.name === file.name && paused.file.size === file.size &&
  paused.file.lastModified === file.lastModified && paused.partSize === partSizeFor(file.size)
