import { defaultDecodeLimits } from "@cairn/core/kafka/protocol/limits"
import { frameOf } from "@cairn/core/kafka/protocol/frame"
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { FrameAssembler } from "./frame-assembler.ts"

describe("FrameAssembler", () => {
  it("gives back exactly the frames sent, however the stream is cut into chunks", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }), (bodies, cuts) => {
        const stream = Uint8Array.from(bodies.flatMap((b) => [...frameOf(b)]))
        const assembler = new FrameAssembler(defaultDecodeLimits)
        const got: Array<Array<number>> = []
        let at = 0
        for (let i = 0; at < stream.length; i++) {
          const end = Math.min(stream.length, at + cuts[i % cuts.length]!)
          got.push(...Result.getOrThrow(assembler.push(stream.subarray(at, end))).map((f) => [...f]))
          at = end
        }
        expect(got).toEqual(bodies.map((b) => [...b]))
      }),
      { numRuns: 300 }
    )
  })

  it("refuses a negative frame size", () => {
    const assembler = new FrameAssembler(defaultDecodeLimits)
    expect(Result.isFailure(assembler.push(Uint8Array.of(0xff, 0xff, 0xff, 0xfe, 1, 2)))).toBe(true)
  })
})
