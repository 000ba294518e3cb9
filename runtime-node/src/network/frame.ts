/**
 * The wire format of node-to-node connections. Every frame is a 16-byte
 * header followed by its payload; all integers big-endian:
 *
 *   0  u32  payload length
 *   4  u8   version (1)
 *   5  u8   kind (hello, challenge, auth, auth-ok, message)
 *   6  u16  reserved, zero
 *   8  u32  CRC32C of the payload
 *  12  u32  CRC32C of header bytes 0..11
 *
 * The header has its own checksum so that a damaged length is detected
 * before it is trusted: a bad header CRC means the byte stream can no longer
 * be split into frames and the connection is closed; a bad payload CRC
 * under a good header drops just that frame and the stream goes on.
 *
 * The checksums come from the Crc32c service the network was built with
 * (`tcpNetwork` reads it once and passes it here); the native one by
 * default. A 12-byte header is below the native threshold, so headers stay
 * in the pure loop either way (native-crc32c.ts).
 */
import type { Crc32cShape } from "@cairn/core/checksum/crc32c-service"
import { nativeCrc32c } from "../checksum/native-crc32c.ts"

export const FRAME_VERSION = 1
export const HEADER_BYTES = 16

export const FrameKind = {
  Hello: 1,
  Challenge: 2,
  Auth: 3,
  AuthOk: 4,
  Message: 5
} as const
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind]

/** Encodes one frame into a fresh buffer (the payload is copied). */
export const encodeFrame = (kind: FrameKind, payload: Uint8Array, checksum: Crc32cShape = nativeCrc32c): Buffer => {
  const { crc32c } = checksum
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length)
  out.writeUInt32BE(payload.length, 0)
  out.writeUInt8(FRAME_VERSION, 4)
  out.writeUInt8(kind, 5)
  out.writeUInt16BE(0, 6)
  out.writeUInt32BE(crc32c(payload), 8)
  out.writeUInt32BE(crc32c(out, 0, 12), 12)
  out.set(payload, HEADER_BYTES)
  return out
}

export type ReadEvent =
  | { readonly _tag: "Frame"; readonly kind: number; readonly payload: Uint8Array }
  /** Payload checksum mismatch: the frame was dropped, the stream continues. */
  | { readonly _tag: "CorruptPayload" }
  /** The stream cannot be framed any more: close the connection. */
  | { readonly _tag: "Fatal"; readonly reason: string }

/**
 * Splits a byte stream into frames. `push` each chunk as it arrives; it
 * returns the events the chunk completed. After a Fatal event it returns
 * nothing more.
 */
export const frameReader = (maxPayloadBytes: number, checksum: Crc32cShape = nativeCrc32c) => {
  const { crc32c } = checksum
  const chunks: Array<Buffer> = []
  let buffered = 0
  let failed = false

  /** Takes exactly `n` bytes off the front (n <= buffered). */
  const take = (n: number): Buffer => {
    if (n === 0) return Buffer.alloc(0)
    if (chunks[0]!.length >= n) {
      const head = chunks[0]!
      const out = head.subarray(0, n)
      if (head.length === n) chunks.shift()
      else chunks[0] = head.subarray(n)
      buffered -= n
      return out
    }
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    while (filled < n) {
      const head = chunks[0]!
      const part = Math.min(head.length, n - filled)
      head.copy(out, filled, 0, part)
      filled += part
      if (part === head.length) chunks.shift()
      else chunks[0] = head.subarray(part)
    }
    buffered -= n
    return out
  }
  /** Reads `n` bytes at the front without consuming them. */
  const peek = (n: number): Buffer => {
    if (chunks[0]!.length >= n) return chunks[0]!.subarray(0, n)
    const joined = Buffer.concat(chunks)
    chunks.length = 0
    chunks.push(joined)
    return joined.subarray(0, n)
  }

  const push = (chunk: Buffer): Array<ReadEvent> => {
    if (failed) return []
    chunks.push(chunk)
    buffered += chunk.length
    const events: Array<ReadEvent> = []
    while (buffered >= HEADER_BYTES) {
      const header = peek(HEADER_BYTES)
      if (crc32c(header, 0, 12) !== header.readUInt32BE(12)) {
        failed = true
        events.push({ _tag: "Fatal", reason: "header checksum mismatch" })
        return events
      }
      const length = header.readUInt32BE(0)
      const version = header.readUInt8(4)
      if (version !== FRAME_VERSION) {
        failed = true
        events.push({ _tag: "Fatal", reason: `unsupported frame version ${version}` })
        return events
      }
      if (length > maxPayloadBytes) {
        failed = true
        events.push({ _tag: "Fatal", reason: `frame of ${length} bytes exceeds the ${maxPayloadBytes}-byte limit` })
        return events
      }
      if (buffered < HEADER_BYTES + length) break
      const kind = header.readUInt8(5)
      const payloadCrc = header.readUInt32BE(8)
      take(HEADER_BYTES)
      // Copy: a delivered payload must not pin (or alias) the socket's chunk.
      const payload = new Uint8Array(take(length))
      events.push(
        crc32c(payload) === payloadCrc ? { _tag: "Frame", kind, payload } : { _tag: "CorruptPayload" }
      )
    }
    return events
  }
  return { push }
}
