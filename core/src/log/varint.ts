/**
 * Zigzag variable-length integers, as Kafka's records use them (the varint
 * of Protocol Buffers over a zigzag mapping, so small negative numbers stay
 * short: 0 → 0, -1 → 1, 1 → 2, -2 → 3 …).
 *
 * Values are JavaScript numbers, so a varlong is limited to the safe
 * integers (±2^53): a longer one is refused, never rounded. Decoding never
 * throws past its caller's catch: a damaged varint is a `VarintError` the
 * batch decoder turns into a typed `BatchFormatError`.
 */

/** A varint that runs past its buffer, has too many bytes, or overflows the range asked for. */
export class VarintError extends Error {
  override readonly name = "VarintError"
}

/** Most bytes of a 32-bit and of a 64-bit varint. */
export const VARINT_MAX_BYTES = 5
export const VARLONG_MAX_BYTES = 10

const TWO_31 = 0x8000_0000

/** Below this magnitude the zigzag value stays a safe integer, so plain number arithmetic is exact. */
const EXACT = 2 ** 52

/** Appends the zigzag varint of `value` (a safe integer) to `out`. */
export const writeVarint = (out: Array<number>, value: number): void => {
  if (Math.abs(value) >= EXACT) return writeBig(out, value >= 0 ? BigInt(value) * 2n : -BigInt(value) * 2n - 1n)
  // zigzag without 32-bit operators, so values past 2^31 stay exact.
  let n = value >= 0 ? value * 2 : -value * 2 - 1
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
}

const writeBig = (out: Array<number>, zigzag: bigint): void => {
  let n = zigzag
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80)
    n >>= 7n
  }
  out.push(Number(n))
}

/** A zigzag varint decoded at a position: the value and the position after it. */
export interface Decoded {
  readonly value: number
  readonly next: number
}

/** Bytes whose 7-bit groups add up exactly in a number (7 × 7 = 49 bits). */
const EXACT_BYTES = 7

/**
 * Decodes a zigzag varint at `at` (ending before `end`). `wide` false: a
 * 32-bit varint (at most 5 bytes, value in int32); true: a varlong (at most
 * 10 bytes, value a safe integer). Throws `VarintError` on bad bytes.
 */
export const readVarint = (bytes: Uint8Array, at: number, end: number, wide: boolean): Decoded => {
  const maxBytes = wide ? VARLONG_MAX_BYTES : VARINT_MAX_BYTES
  let n = 0
  let scale = 1
  for (let i = 0; i < maxBytes; i++) {
    if (at + i >= end) throw new VarintError(`varint runs past the end at byte ${at + i}`)
    if (i === EXACT_BYTES) return readBigTail(bytes, at, end, maxBytes, BigInt(n))
    const b = bytes[at + i]!
    n += (b & 0x7f) * scale
    scale *= 0x80
    if ((b & 0x80) === 0) {
      const value = n % 2 === 0 ? n / 2 : -(n + 1) / 2
      if (!wide && (value < -TWO_31 || value >= TWO_31)) throw new VarintError(`varint at byte ${at} overflows 32 bits`)
      return { value, next: at + i + 1 }
    }
  }
  throw new VarintError(`varint at byte ${at} is longer than ${maxBytes} bytes`)
}

/** The rest of a varlong longer than 7 bytes, in BigInt so nothing rounds. */
const readBigTail = (bytes: Uint8Array, at: number, end: number, maxBytes: number, low: bigint): Decoded => {
  let n = low
  for (let i = EXACT_BYTES; i < maxBytes; i++) {
    if (at + i >= end) throw new VarintError(`varint runs past the end at byte ${at + i}`)
    const b = bytes[at + i]!
    n |= BigInt(b & 0x7f) << BigInt(7 * i)
    if ((b & 0x80) === 0) {
      const value = (n & 1n) === 0n ? n >> 1n : -((n + 1n) >> 1n)
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new VarintError(`varint at byte ${at} is out of the safe integer range`)
      }
      return { value: Number(value), next: at + i + 1 }
    }
  }
  throw new VarintError(`varint at byte ${at} is longer than ${maxBytes} bytes`)
}
