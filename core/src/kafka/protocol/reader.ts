/**
 * A bounds-checked reader of Kafka's primitive types (big-endian integers,
 * unsigned and zigzag varints, UUIDs, doubles, the classic and the compact
 * strings, byte strings and array lengths). Every length is checked against
 * the bytes left and against a `DecodeLimits` bound before anything is
 * sliced or allocated; every failure is a `KafkaDecodeError`.
 */
import { readVarint, VarintError } from "../../log/varint.ts"
import { KafkaDecodeError, type DecodeFault } from "./errors.ts"
import type { DecodeLimits } from "./limits.ts"

// ignoreBOM: a leading U+FEFF is part of the string, as it is in Java.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

export const decodeFault = (fault: DecodeFault, message: string): KafkaDecodeError => new KafkaDecodeError({ fault, message })

const U32_MAX_BYTES = 5

export class KafkaReader {
  private readonly view: DataView
  readonly bytes: Uint8Array
  readonly limits: DecodeLimits
  readonly end: number
  at: number

  constructor(bytes: Uint8Array, limits: DecodeLimits, at = 0, end = bytes.length) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.limits = limits
    this.at = at
    this.end = end
  }

  remaining(): number {
    return this.end - this.at
  }

  private need(n: number, what: string): number {
    if (n > this.end - this.at) throw decodeFault("truncated", `${what} needs ${n} bytes at byte ${this.at}, ${this.end - this.at} left`)
    const at = this.at
    this.at += n
    return at
  }

  int8(): number {
    return this.view.getInt8(this.need(1, "int8"))
  }
  int16(): number {
    return this.view.getInt16(this.need(2, "int16"))
  }
  uint16(): number {
    return this.view.getUint16(this.need(2, "uint16"))
  }
  int32(): number {
    return this.view.getInt32(this.need(4, "int32"))
  }
  uint32(): number {
    return this.view.getUint32(this.need(4, "uint32"))
  }
  int64(): bigint {
    return this.view.getBigInt64(this.need(8, "int64"))
  }
  float64(): number {
    return this.view.getFloat64(this.need(8, "float64"))
  }
  bool(): boolean {
    const v = this.view.getUint8(this.need(1, "boolean"))
    if (v > 1) throw decodeFault("bad-bool", `boolean byte ${v} at byte ${this.at - 1}`)
    return v === 1
  }
  uuid(): Uint8Array {
    const at = this.need(16, "uuid")
    return this.bytes.slice(at, at + 16)
  }

  /** An unsigned varint of at most 32 bits (Kafka's compact lengths, tags and tag sizes). */
  uvarint(): number {
    let n = 0
    for (let i = 0; i < U32_MAX_BYTES; i++) {
      if (this.at >= this.end) throw decodeFault("truncated", `unsigned varint runs past the end at byte ${this.at}`)
      const b = this.bytes[this.at++]!
      n += (b & 0x7f) * 2 ** (7 * i)
      if ((b & 0x80) === 0) {
        if (n > 0xffff_ffff) throw decodeFault("bad-varint", `unsigned varint ${n} overflows 32 bits`)
        return n
      }
    }
    throw decodeFault("bad-varint", `unsigned varint longer than ${U32_MAX_BYTES} bytes at byte ${this.at - U32_MAX_BYTES}`)
  }

  /** A zigzag varint (`wide` false: 32 bits) or varlong (`wide` true: a safe integer). */
  varint(wide = false): number {
    try {
      const d = readVarint(this.bytes, this.at, this.end, wide)
      this.at = d.next
      return d.value
    } catch (error) {
      if (error instanceof VarintError) throw decodeFault(error.message.includes("past the end") ? "truncated" : "bad-varint", error.message)
      throw error
    }
  }

  /** A length read as `value`, checked: -1 allowed only when `nullable`, otherwise ≥ 0 and ≤ `max`. */
  private checkedLength(value: number, nullable: boolean, max: number, what: string): number | null {
    if (value === -1 && nullable) return null
    if (value < 0) throw decodeFault("bad-length", `${what} has negative length ${value}`)
    if (value > max) throw decodeFault("bad-length", `${what} length ${value} exceeds the limit ${max}`)
    if (value > this.remaining()) throw decodeFault("truncated", `${what} length ${value} runs past the ${this.remaining()} bytes left`)
    return value
  }

  /** A string: int16 length (classic) or unsigned varint length + 1 (compact); null as -1 / 0. */
  string(compact: boolean, nullable: boolean): string | null {
    const length = this.checkedLength(compact ? this.uvarint() - 1 : this.int16(), nullable, this.limits.maxStringBytes, "string")
    if (length === null) return null
    const at = this.need(length, "string")
    try {
      return utf8.decode(this.bytes.subarray(at, at + length))
    } catch {
      throw decodeFault("bad-utf8", `string at byte ${at} is not valid UTF-8`)
    }
  }

  /** Bytes: int32 length (classic) or unsigned varint length + 1 (compact); null as -1 / 0. A copy, or with `view` a view. */
  byteString(compact: boolean, nullable: boolean, view = false): Uint8Array | null {
    const length = this.checkedLength(compact ? this.uvarint() - 1 : this.int32(), nullable, this.limits.maxBytesLength, "bytes")
    if (length === null) return null
    const at = this.need(length, "bytes")
    return view ? this.bytes.subarray(at, at + length) : this.bytes.slice(at, at + length)
  }

  /**
   * An array's element count: int32 (classic) or unsigned varint + 1
   * (compact); null as -1 / 0. `minElementBytes` is the fewest bytes one
   * element can take, so a count the remaining bytes cannot hold is refused
   * before anything is allocated.
   */
  arrayLength(compact: boolean, nullable: boolean, minElementBytes: number): number | null {
    const raw = compact ? this.uvarint() - 1 : this.int32()
    if (raw === -1 && nullable) return null
    if (raw < 0) throw decodeFault("bad-length", `array has negative length ${raw}`)
    if (raw > this.limits.maxArrayLength) throw decodeFault("bad-length", `array length ${raw} exceeds the limit ${this.limits.maxArrayLength}`)
    if (raw * minElementBytes > this.remaining()) {
      throw decodeFault("truncated", `array of ${raw} elements of at least ${minElementBytes} bytes runs past the ${this.remaining()} bytes left`)
    }
    return raw
  }

  /** A sub-reader over the next `n` bytes, which this reader skips. */
  slice(n: number, what: string): KafkaReader {
    const at = this.need(n, what)
    return new KafkaReader(this.bytes, this.limits, at, at + n)
  }
}
