/**
 * The WAL's on-disk format, version 1 (see docs/adr/0005-wal-format.md).
 *
 * Record frame, 8-byte aligned, little-endian:
 *
 *   0  u32 header CRC32C (over bytes 4..32)
 *   4  u32 magic "CWR1" (the last byte is the format version)
 *   8  u32 payload CRC32C
 *  12  u32 payload length
 *  16  u32 generation (bumped at every open and suffix truncation)
 *  20  u32 kind (1 = data, 2 = seal: the segment ends here)
 *  24  u64 sequence number
 *  32  payload, then zero padding to a multiple of 8
 *
 * Superblock copy, one per sector, four sectors in `superblock`:
 *
 *   0  u32 CRC32C (over bytes 4..64)
 *   4  u32 magic "CWSB"
 *   8  u32 format version (1)
 *  12  u32 generation
 *  16  u64 superblock version (the copy with the highest valid one wins)
 *  24  u64 first sequence number retained
 *  32  u32 first segment, 36 u32 offset of the first record in it
 *  40  u64 durable sequence number (every record up to it is on stable storage)
 *  48  u32 durable segment, 52 u32 offset just past the durable record
 *  56  u32 segment size
 *  60  u32 reserved
 */
import { crc32c } from "../checksum/crc32c.ts"

export const FORMAT_VERSION = 1
export const RECORD_MAGIC = 0x31525743 // "CWR1" little-endian
export const SUPERBLOCK_MAGIC = 0x42535743 // "CWSB" little-endian
export const HEADER_BYTES = 32
export const SUPERBLOCK_BYTES = 64
/** Four copies: each update writes both copies of one pair, alternating pairs. */
export const SUPERBLOCK_COPIES = 4

export const KIND_DATA = 1
export const KIND_SEAL = 2

const TWO_32 = 0x1_0000_0000

export const padded = (n: number): number => (n + 7) & ~7

export const frameBytes = (payloadLength: number): number => HEADER_BYTES + padded(payloadLength)

const setU64 = (view: DataView, offset: number, value: number): void => {
  view.setUint32(offset, value % TWO_32, true)
  view.setUint32(offset + 4, Math.floor(value / TWO_32), true)
}

const getU64 = (view: DataView, offset: number): number =>
  view.getUint32(offset, true) + view.getUint32(offset + 4, true) * TWO_32

/** Encodes one record frame. */
export const encodeFrame = (kind: number, seq: number, generation: number, payload: Uint8Array): Uint8Array => {
  const frame = new Uint8Array(frameBytes(payload.length))
  const view = new DataView(frame.buffer)
  view.setUint32(4, RECORD_MAGIC, true)
  view.setUint32(8, crc32c(payload), true)
  view.setUint32(12, payload.length, true)
  view.setUint32(16, generation, true)
  view.setUint32(20, kind, true)
  setU64(view, 24, seq)
  frame.set(payload, HEADER_BYTES)
  view.setUint32(0, crc32c(frame, 4, HEADER_BYTES), true)
  return frame
}

export interface FrameHeader {
  readonly kind: number
  readonly seq: number
  readonly generation: number
  readonly payloadLength: number
  readonly payloadCrc: number
  readonly frameBytes: number
}

/**
 * Decodes the header at `offset` of `bytes`, or undefined if there is no
 * valid header there (bad magic, bad checksum, impossible length).
 */
export const decodeHeader = (bytes: Uint8Array, offset: number): FrameHeader | undefined => {
  if (offset + HEADER_BYTES > bytes.length) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, HEADER_BYTES)
  if (view.getUint32(4, true) !== RECORD_MAGIC) return undefined
  if (view.getUint32(0, true) !== crc32c(bytes, offset + 4, offset + HEADER_BYTES)) return undefined
  const kind = view.getUint32(20, true)
  if (kind !== KIND_DATA && kind !== KIND_SEAL) return undefined
  const payloadLength = view.getUint32(12, true)
  return {
    kind,
    seq: getU64(view, 24),
    generation: view.getUint32(16, true),
    payloadLength,
    payloadCrc: view.getUint32(8, true),
    frameBytes: frameBytes(payloadLength)
  }
}

/** Does the payload that follows `header` at `offset` match its checksum? */
export const payloadIntact = (bytes: Uint8Array, offset: number, header: FrameHeader): boolean => {
  const start = offset + HEADER_BYTES
  const end = start + header.payloadLength
  return end <= bytes.length && crc32c(bytes, start, end) === header.payloadCrc
}

export interface Position {
  readonly segment: number
  readonly offset: number
}

export interface Superblock {
  readonly version: number
  readonly generation: number
  readonly firstSeq: number
  readonly first: Position
  /** The last sequence number on stable storage (firstSeq - 1 when none). */
  readonly durableSeq: number
  /** Just past the durable record. */
  readonly durable: Position
  readonly segmentBytes: number
}

export const encodeSuperblock = (sb: Superblock, sectorSize: number): Uint8Array => {
  const out = new Uint8Array(Math.max(sectorSize, SUPERBLOCK_BYTES))
  const view = new DataView(out.buffer)
  view.setUint32(4, SUPERBLOCK_MAGIC, true)
  view.setUint32(8, FORMAT_VERSION, true)
  view.setUint32(12, sb.generation, true)
  setU64(view, 16, sb.version)
  setU64(view, 24, sb.firstSeq)
  view.setUint32(32, sb.first.segment, true)
  view.setUint32(36, sb.first.offset, true)
  setU64(view, 40, sb.durableSeq)
  view.setUint32(48, sb.durable.segment, true)
  view.setUint32(52, sb.durable.offset, true)
  view.setUint32(56, sb.segmentBytes, true)
  view.setUint32(0, crc32c(out, 4, SUPERBLOCK_BYTES), true)
  return out
}

export const decodeSuperblock = (bytes: Uint8Array, offset: number): Superblock | undefined => {
  if (offset + SUPERBLOCK_BYTES > bytes.length) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, SUPERBLOCK_BYTES)
  if (view.getUint32(4, true) !== SUPERBLOCK_MAGIC) return undefined
  if (view.getUint32(0, true) !== crc32c(bytes, offset + 4, offset + SUPERBLOCK_BYTES)) return undefined
  if (view.getUint32(8, true) !== FORMAT_VERSION) return undefined
  return {
    generation: view.getUint32(12, true),
    version: getU64(view, 16),
    firstSeq: getU64(view, 24),
    first: { segment: view.getUint32(32, true), offset: view.getUint32(36, true) },
    durableSeq: getU64(view, 40),
    durable: { segment: view.getUint32(48, true), offset: view.getUint32(52, true) },
    segmentBytes: view.getUint32(56, true)
  }
}

/** `wal/00000007.seg` */
export const segmentPath = (dir: string, segment: number): string =>
  `${dir}/${String(segment).padStart(8, "0")}.seg`

export const parseSegmentName = (name: string): number | undefined => {
  const m = /^(\d{8})\.seg$/.exec(name)
  return m === null ? undefined : Number(m[1])
}

export const superblockPath = (dir: string): string => `${dir}/superblock`
