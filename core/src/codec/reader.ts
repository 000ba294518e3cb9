/**
 * A bounds-checked big-endian byte reader, the decoding half of `writer.ts`:
 * every overrun, bad boolean, out-of-range integer or invalid UTF-8 is a
 * `RaftDecodeError`, never a wrong value.
 */
import { RaftDecodeError } from "./decode-error.ts"

// ignoreBOM: a leading U+FEFF is part of the string (a key "\uFEFFa" must not read back as "a").
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** Longest string `asciiString` takes (`fromCharCode.apply` spreads its bytes as arguments). */
const asciiFastMax = 1024

/** A bounds-checked byte reader; every overrun is a `RaftDecodeError`. */
export class Reader {
  private offset: number
  private readonly view: DataView
  private readonly bytes: Uint8Array
  private readonly end: number

  constructor(bytes: Uint8Array, offset = 0, end = bytes.length) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.offset = offset
    this.end = end
  }

  private need(n: number): void {
    if (this.offset + n > this.end) throw new RaftDecodeError({ message: `truncated at byte ${this.offset} (needed ${n})` })
  }

  u8(): number {
    this.need(1)
    return this.view.getUint8(this.offset++)
  }

  u32(): number {
    this.need(4)
    const v = this.view.getUint32(this.offset)
    this.offset += 4
    return v
  }

  uint(): number {
    const hi = this.u32()
    const lo = this.u32()
    const v = hi * 0x1_0000_0000 + lo
    if (!Number.isSafeInteger(v)) throw new RaftDecodeError({ message: "integer out of range" })
    return v
  }

  bool(): boolean {
    const v = this.u8()
    if (v > 1) throw new RaftDecodeError({ message: `bad boolean ${v}` })
    return v === 1
  }

  raw(): Uint8Array {
    const length = this.u32()
    this.need(length)
    const out = this.bytes.slice(this.offset, this.offset + length)
    this.offset += length
    return out
  }

  /** As `raw`, but a view into the bytes read, not a copy: for a caller that copies or drops it at once. */
  rawView(): Uint8Array {
    const length = this.u32()
    this.need(length)
    const out = this.bytes.subarray(this.offset, this.offset + length)
    this.offset += length
    return out
  }

  string(): string {
    const ascii = this.asciiString()
    if (ascii !== undefined) return ascii
    try {
      return decoder.decode(this.raw())
    } catch (error) {
      if (error instanceof RaftDecodeError) throw error
      throw new RaftDecodeError({ message: "invalid UTF-8" })
    }
  }

  /**
   * A short all-ASCII string, read without copying its bytes or calling the
   * decoder (ASCII bytes are valid UTF-8 and decode to themselves); undefined,
   * with nothing consumed, for anything else.
   */
  private asciiString(): string | undefined {
    const start = this.offset
    if (start + 4 > this.end) return undefined
    const length = this.view.getUint32(start)
    const from = start + 4
    if (length > asciiFastMax || from + length > this.end) return undefined
    const bytes = this.bytes
    for (let i = from; i < from + length; i++) if (bytes[i]! >= 0x80) return undefined
    this.offset = from + length
    return String.fromCharCode.apply(null, bytes.subarray(from, from + length) as unknown as Array<number>)
  }

  /** Nothing left to read (a record written by an older version ends early). */
  atEnd(): boolean {
    return this.offset === this.end
  }

  done(): void {
    if (this.offset !== this.end) throw new RaftDecodeError({ message: `${this.end - this.offset} trailing bytes` })
  }
}
