/**
 * The metadata backup file (`cairn admin backup`): every key and value of
 * the cluster's KV store at one applied Raft index, which is where the
 * object catalogue, buckets, S3 users and the erasure scheme live.
 *
 * Version 1 (big-endian, core's Writer/Reader):
 *
 *   0   8 bytes magic "CAIRNBAK"
 *   8   u32 format version (1)
 *   12  u32 header length H, then H bytes of UTF-8 JSON (`BackupHeader`)
 *   16+H  `keys` records in strictly increasing key order (the KV's own
 *         order): u32 length + UTF-8 key, u32 length + value bytes
 *   end u32 CRC32C of every byte before it
 *
 * The magic and the version sit at the same offsets in every version, so
 * any later Cairn can tell which version a file is before checking the rest;
 * a reader refuses a version it does not know (docs/backup.md says when the
 * version is bumped).
 */
import { crc32c } from "@cairn/core/checksum/crc32c"
import { RaftDecodeError } from "@cairn/core/codec/decode-error"
import { Reader } from "@cairn/core/codec/reader"
import { Writer } from "@cairn/core/codec/writer"
import { compareKeys } from "@cairn/core/kv/keys"
import { Data } from "effect"

export const BACKUP_MAGIC = "CAIRNBAK"
export const BACKUP_VERSION = 1

/** Where and when the backup was taken. */
export interface BackupHeader {
  /** Wall-clock time the node took it (ISO 8601), for humans. */
  readonly createdAt: string
  /** The node whose state machine was read, and the Raft term and leader it saw. */
  readonly node: string
  readonly leader: string | null
  readonly term: number
  /** Every write committed at or below this Raft index is in the file, and none above it. */
  readonly appliedIndex: number
  readonly keys: number
}

export interface BackupEntry {
  readonly key: string
  readonly value: Uint8Array
}

export interface Backup {
  readonly header: BackupHeader
  readonly entries: ReadonlyArray<BackupEntry>
}

/** A file that is not a backup this build can read: damaged, truncated, or of a newer version. */
export class BackupFileError extends Data.TaggedError("BackupFileError")<{ readonly message: string }> {}

const encoder = new TextEncoder()
const magicBytes = encoder.encode(BACKUP_MAGIC)

/** The file's bytes; `entries` must be in key order (as the KV yields them). */
export const encodeBackup = (backup: Backup): Uint8Array => {
  const w = new Writer()
  for (const b of magicBytes) w.u8(b)
  w.u32(BACKUP_VERSION)
  w.string(JSON.stringify(backup.header))
  for (const e of backup.entries) {
    w.string(e.key)
    w.raw(e.value)
  }
  w.u32(crc32c(w.finish()))
  return w.finish()
}

const damaged = (why: string) => new BackupFileError({ message: `the backup file is damaged (${why}); it cannot be restored` })

const isHeader = (h: unknown): h is BackupHeader => {
  if (typeof h !== "object" || h === null) return false
  const o = h as Record<string, unknown>
  return typeof o.createdAt === "string" && typeof o.node === "string" && (o.leader === null || typeof o.leader === "string") &&
    Number.isSafeInteger(o.term) && Number.isSafeInteger(o.appliedIndex) && Number.isSafeInteger(o.keys) && (o.keys as number) >= 0
}

/** Checks magic, version and checksum (in that order, so a newer file says so), then reads every record. */
export const decodeBackup = (bytes: Uint8Array): Backup | BackupFileError => {
  if (bytes.length < magicBytes.length + 4 || !magicBytes.every((b, i) => bytes[i] === b)) {
    return new BackupFileError({ message: `not a Cairn backup file (it does not start with ${BACKUP_MAGIC})` })
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = view.getUint32(magicBytes.length)
  if (version > BACKUP_VERSION) {
    return new BackupFileError({ message: `the backup file is version ${version}, newer than this build reads (${BACKUP_VERSION}): restore it with the Cairn release that wrote it, or a newer one` })
  }
  if (version !== BACKUP_VERSION) return damaged(`unknown version ${version}`)
  if (bytes.length < magicBytes.length + 12) return damaged("truncated")
  const body = bytes.length - 4
  if (crc32c(bytes, 0, body) !== view.getUint32(body)) return damaged("checksum mismatch: truncated or altered")
  try {
    const r = new Reader(bytes, magicBytes.length + 4, body)
    let header: unknown
    try {
      header = JSON.parse(r.string())
    } catch (e) {
      if (e instanceof RaftDecodeError) throw e
      return damaged("its header is not JSON")
    }
    if (!isHeader(header)) return damaged("its header lacks fields")
    const entries: Array<BackupEntry> = []
    for (let i = 0; i < header.keys; i++) {
      const key = r.string()
      const last = entries[entries.length - 1]
      if (last !== undefined && compareKeys(last.key, key) >= 0) return damaged("keys out of order")
      entries.push({ key, value: r.raw() })
    }
    r.done()
    return { header, entries }
  } catch (e) {
    if (e instanceof RaftDecodeError) return damaged(e.message)
    throw e
  }
}
