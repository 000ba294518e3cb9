import { crc32c } from "@cairn/core"
import { describe, expect, it } from "vitest"
import { encodeFrame, FrameKind, frameReader, HEADER_BYTES } from "./frame.ts"

const frames = [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(70_000).fill(9)].map((p, i) =>
  encodeFrame(i === 0 ? FrameKind.AuthOk : FrameKind.Message, p)
)
const stream = Buffer.concat(frames)

describe("frame codec", () => {
  it("reassembles frames whatever the chunking, down to one byte at a time", () => {
    for (const size of [1, 7, HEADER_BYTES, 4096, stream.length]) {
      const reader = frameReader(1 << 20)
      const events = []
      for (let i = 0; i < stream.length; i += size) events.push(...reader.push(stream.subarray(i, i + size)))
      expect(events.map((e) => (e._tag === "Frame" ? [e.kind, e.payload.length] : e._tag))).toEqual([
        [FrameKind.AuthOk, 0],
        [FrameKind.Message, 3],
        [FrameKind.Message, 70_000]
      ])
    }
  })

  it("drops a frame with a damaged payload and keeps reading the stream", () => {
    const damaged = Buffer.from(frames[1]!)
    damaged[HEADER_BYTES + 1]! ^= 0x80
    const events = frameReader(1 << 20).push(Buffer.concat([damaged, frames[1]!]))
    expect(events.map((e) => e._tag)).toEqual(["CorruptPayload", "Frame"])
  })

  it("stops at a damaged header, an unknown version or an oversized frame", () => {
    for (const [byte, mask] of [[0, 0x01], [4, 0x02], [13, 0xff]] as const) {
      const bad = Buffer.from(frames[1]!)
      bad[byte]! ^= mask
      const reader = frameReader(1 << 20)
      expect(reader.push(bad).map((e) => e._tag)).toEqual(["Fatal"])
      expect(reader.push(frames[1]!)).toEqual([]) // nothing after a fatal error
    }
    // A well-formed header of version 2: refused for its version, not its checksum.
    const v2 = Buffer.from(frames[1]!)
    v2[4] = 2
    v2.writeUInt32BE(crc32c(v2.subarray(0, 12)) >>> 0, 12)
    expect(frameReader(1 << 20).push(v2)).toEqual([{ _tag: "Fatal", reason: "unsupported frame version 2" }])
    expect(frameReader(1000).push(frames[2]!)).toEqual([
      { _tag: "Fatal", reason: "frame of 70000 bytes exceeds the 1000-byte limit" }
    ])
  })
})
