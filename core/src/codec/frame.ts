/**
 * The checksummed frame every message on Cairn's node-to-node transport
 * travels in, whichever service owns it: a flipped bit is a dropped message,
 * never a wrong one.
 *
 * Frame: magic u16 "RF", version u8, kind u8, body length u32, CRC32C u32 of
 * the first 8 header bytes and the body, body. The kind says which service
 * owns the frame (see `transport/frame-demux.ts`).
 */
import { crc32c, crc32cUpdate } from "../checksum/crc32c.ts"
import { RaftDecodeError } from "./decode-error.ts"
import { Reader } from "./reader.ts"

const MAGIC = 0x5246
const VERSION = 1
const HEADER = 12

/** Wraps a body in a checksummed frame of `kind`. */
export const frame = (kind: number, body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(HEADER + body.length)
  const view = new DataView(out.buffer)
  view.setUint16(0, MAGIC)
  view.setUint8(2, VERSION)
  view.setUint8(3, kind)
  view.setUint32(4, body.length)
  out.set(body, HEADER)
  // The checksum covers the header's first 8 bytes too: a flipped kind must not parse as another message.
  view.setUint32(8, crc32cUpdate(crc32c(out, 0, 8), body))
  return out
}

/** Checks a frame and returns its kind and a reader over its body. */
export const unframe = (bytes: Uint8Array): { readonly kind: number; readonly body: Reader } => {
  if (bytes.length < HEADER) throw new RaftDecodeError({ message: "frame shorter than its header" })
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint16(0) !== MAGIC) throw new RaftDecodeError({ message: "bad magic" })
  if (view.getUint8(2) !== VERSION) throw new RaftDecodeError({ message: `unsupported version ${view.getUint8(2)}` })
  const length = view.getUint32(4)
  if (HEADER + length !== bytes.length) throw new RaftDecodeError({ message: "frame length mismatch" })
  if (crc32cUpdate(crc32c(bytes, 0, 8), bytes, HEADER, HEADER + length) !== view.getUint32(8)) throw new RaftDecodeError({ message: "checksum mismatch" })
  return { kind: view.getUint8(3), body: new Reader(bytes, HEADER, HEADER + length) }
}
