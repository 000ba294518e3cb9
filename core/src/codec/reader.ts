/**
 * A bounds-checked big-endian byte reader, the decoding half of `writer.ts`:
 * every overrun, bad boolean, out-of-range integer or invalid UTF-8 is a
 * `RaftDecodeError`, never a wrong value.
 */
import { RaftDecodeError } from "./decode-error.ts"

// ignoreBOM: a leading U+FEFF is part of the string (a key "\uFEFFa" must not read back as "a").
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

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

  string(): string {
    try {
      return decoder.decode(this.raw())
    } catch (error) {
      if (error instanceof RaftDecodeError) throw error
      throw new RaftDecodeError({ message: "invalid UTF-8" })
    }
  }

  /** Nothing left to read (a record written by an older version ends early). */
  atEnd(): boolean {
    return this.offset === this.end
  }

  done(): void {
    if (this.offset !== this.end) throw new RaftDecodeError({ message: `${this.end - this.offset} trailing bytes` })
  }
}
