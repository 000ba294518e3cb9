/**
 * The codec's string fast paths (ASCII written and read without the
 * TextEncoder/TextDecoder) must give exactly the bytes and strings the
 * encoder and the fatal decoder give, and fail where the decoder fails.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { RaftDecodeError } from "./decode-error.ts"
import { Reader } from "./reader.ts"
import { Writer } from "./writer.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** A length-prefixed byte string, as `Writer.raw` writes it. */
const lengthPrefixed = (bytes: Uint8Array): Uint8Array => {
  const w = new Writer()
  w.raw(bytes)
  return w.finish()
}

describe("codec strings", () => {
  it("writes the TextEncoder's bytes for any string, ASCII or not, lone surrogates included", () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme-ascii", maxLength: 3000 })), (s) => {
      const w = new Writer()
      w.u8(7) // not at offset 0, so the in-place path writes at an offset
      w.string(s)
      expect(w.finish()).toEqual(Uint8Array.from([7, ...lengthPrefixed(encoder.encode(s))]))
    }))
  })

  it("reads what the fatal decoder reads, and rejects what it rejects", () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ min: 0, max: 0x7f, maxLength: 1500 }))
    fc.assert(fc.property(bytes, (raw) => {
      const reader = new Reader(lengthPrefixed(raw))
      let expected: string | undefined
      try {
        expected = decoder.decode(raw)
      } catch {
        expected = undefined
      }
      if (expected === undefined) expect(() => reader.string()).toThrow(RaftDecodeError)
      else {
        expect(reader.string()).toBe(expected)
        reader.done()
      }
    }))
  })

  it("a string cut short is a decode error, ASCII or not", () => {
    for (const s of ["abc", "héllo"]) {
      const w = new Writer()
      w.string(s)
      const bytes = w.finish()
      expect(() => new Reader(bytes.subarray(0, bytes.length - 1)).string()).toThrow(RaftDecodeError)
      expect(() => new Reader(bytes, 0, bytes.length - 1).string()).toThrow(RaftDecodeError)
    }
  })
})
