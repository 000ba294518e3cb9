/**
 * A growable writer of Kafka's primitive types, the encoding half of
 * `reader.ts`. Values out of their type's range are a `KafkaEncodeError`
 * (thrown here, returned by the message encoder), never silently wrapped.
 */
import { writeVarint } from "../../log/varint.ts"
import { KafkaEncodeError } from "./errors.ts"

const utf8 = new TextEncoder()

/** Kafka's cap on every string's UTF-8 length. */
export const MAX_STRING_BYTES = 0x7fff

const encodeFault = (message: string): KafkaEncodeError => new KafkaEncodeError({ message })

const checkInt = (v: number, lo: number, hi: number, type: string): void => {
  if (!Number.isInteger(v) || v < lo || v > hi) throw encodeFault(`${v} is not an ${type}`)
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

export class KafkaWriter {
  private bytes = new Uint8Array(128)
  private view = new DataView(this.bytes.buffer)
  length = 0

  private reserve(n: number): number {
    if (this.length + n > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n))
      grown.set(this.bytes.subarray(0, this.length))
      this.bytes = grown
      this.view = new DataView(grown.buffer)
    }
    const at = this.length
    this.length += n
    return at
  }

  // Each setter reserves first, then reads `this.view`: growing replaces the view.
  int8(v: number): void {
    checkInt(v, -0x80, 0x7f, "int8")
    const at = this.reserve(1)
    this.view.setInt8(at, v)
  }
  int16(v: number): void {
    checkInt(v, -0x8000, 0x7fff, "int16")
    const at = this.reserve(2)
    this.view.setInt16(at, v)
  }
  uint16(v: number): void {
    checkInt(v, 0, 0xffff, "uint16")
    const at = this.reserve(2)
    this.view.setUint16(at, v)
  }
  int32(v: number): void {
    checkInt(v, -0x8000_0000, 0x7fff_ffff, "int32")
    const at = this.reserve(4)
    this.view.setInt32(at, v)
  }
  uint32(v: number): void {
    checkInt(v, 0, 0xffff_ffff, "uint32")
    const at = this.reserve(4)
    this.view.setUint32(at, v)
  }
  int64(v: bigint): void {
    if (v < INT64_MIN || v > INT64_MAX) throw encodeFault(`${v} is not an int64`)
    const at = this.reserve(8)
    this.view.setBigInt64(at, v)
  }
  float64(v: number): void {
    const at = this.reserve(8)
    this.view.setFloat64(at, v)
  }
  bool(v: boolean): void {
    const at = this.reserve(1)
    this.view.setUint8(at, v ? 1 : 0)
  }
  uuid(v: Uint8Array): void {
    if (v.length !== 16) throw encodeFault(`a uuid has 16 bytes, not ${v.length}`)
    this.raw(v)
  }
  raw(v: Uint8Array): void {
    const at = this.reserve(v.length)
    this.bytes.set(v, at)
  }

  uvarint(v: number): void {
    checkInt(v, 0, 0xffff_ffff, "unsigned varint")
    let n = v
    while (n >= 0x80) {
      const at = this.reserve(1)
      this.bytes[at] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    const at = this.reserve(1)
    this.bytes[at] = n
  }

  /** A zigzag varint (`wide` false: int32) or varlong (`wide` true: a safe integer). */
  varint(v: number, wide = false): void {
    if (wide) {
      if (!Number.isSafeInteger(v)) throw encodeFault(`${v} is not a safe integer varlong`)
    } else checkInt(v, -0x8000_0000, 0x7fff_ffff, "int32 varint")
    const out: Array<number> = []
    writeVarint(out, v)
    this.raw(Uint8Array.from(out))
  }

  /** A length or count: int16/int32 (classic) or unsigned varint n + 1 (compact); null is -1 / 0. */
  private length16(n: number | null, compact: boolean): void {
    if (compact) this.uvarint(n === null ? 0 : n + 1)
    else this.int16(n ?? -1)
  }
  private length32(n: number | null, compact: boolean): void {
    if (compact) this.uvarint(n === null ? 0 : n + 1)
    else this.int32(n ?? -1)
  }

  string(v: string | null, compact: boolean): void {
    if (v === null) return this.length16(null, compact)
    const bytes = utf8.encode(v)
    if (bytes.length > MAX_STRING_BYTES) throw encodeFault(`a string of ${bytes.length} UTF-8 bytes exceeds ${MAX_STRING_BYTES}`)
    this.length16(bytes.length, compact)
    this.raw(bytes)
  }

  byteString(v: Uint8Array | null, compact: boolean): void {
    this.length32(v === null ? null : v.length, compact)
    if (v !== null) this.raw(v)
  }

  arrayLength(n: number | null, compact: boolean): void {
    this.length32(n, compact)
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length)
  }
}
