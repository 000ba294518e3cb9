/**
 * A growable big-endian byte writer: the encoding half of Cairn's binary
 * codecs (Raft messages, KV commands, object metadata). Integers up to 2^53
 * are written as two u32 halves; byte strings and strings carry a u32 length.
 */
import { assert } from "../invariant/invariant.ts"

const encoder = new TextEncoder()

/** A growable byte writer. */
export class Writer {
  private bytes = new Uint8Array(256)
  private view = new DataView(this.bytes.buffer)
  length = 0

  private ensure(extra: number): void {
    if (this.length + extra <= this.bytes.length) return
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra))
    grown.set(this.bytes.subarray(0, this.length))
    this.bytes = grown
    this.view = new DataView(grown.buffer)
  }

  u8(v: number): void {
    this.ensure(1)
    this.view.setUint8(this.length, v)
    this.length += 1
  }

  u32(v: number): void {
    this.ensure(4)
    this.view.setUint32(this.length, v >>> 0)
    this.length += 4
  }

  /** A non-negative safe integer. */
  uint(v: number): void {
    assert(Number.isSafeInteger(v) && v >= 0, () => `not a non-negative safe integer: ${v}`)
    this.u32(Math.floor(v / 0x1_0000_0000))
    this.u32(v % 0x1_0000_0000)
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0)
  }

  raw(data: Uint8Array): void {
    this.u32(data.length)
    this.ensure(data.length)
    this.bytes.set(data, this.length)
    this.length += data.length
  }

  string(v: string): void {
    // ASCII (keys, names, most values) is its own UTF-8: written in place, with no encoded copy to allocate.
    const n = v.length
    let ascii = 0
    while (ascii < n && v.charCodeAt(ascii) < 0x80) ascii++
    if (ascii < n) {
      this.raw(encoder.encode(v))
      return
    }
    this.u32(n)
    this.ensure(n)
    const bytes = this.bytes
    const at = this.length
    for (let i = 0; i < n; i++) bytes[at + i] = v.charCodeAt(i)
    this.length = at + n
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length)
  }
}
