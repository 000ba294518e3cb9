import { inMemoryNetwork } from "../index.ts"
import { Cause, Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { RaftDecodeError } from "@cairn/core/codec/decode-error"
import { frame } from "@cairn/core/codec/frame"
import type { Reader } from "@cairn/core/codec/reader"
import { InvariantViolation } from "@cairn/core/invariant/invariant"
import { nodeId, type NodeId } from "@cairn/core/node/node-id"
import { type FrameDemux, makeFrameDemux } from "@cairn/core/transport/frame-demux"

const [n1, n2] = [nodeId("n1"), nodeId("n2")]
const turns = (n: number) => Effect.forEach(Array.from({ length: n }), () => Effect.yieldNow, { discard: true })
const bytes = (...values: Array<number>) => new Uint8Array(values)

interface Received {
  readonly from: NodeId
  readonly kind: number
  readonly body: ReadonlyArray<number>
}

/** A handler that records each frame's sender, kind and remaining body. */
const recorder = (into: Array<Received>) => (from: NodeId, kind: number, body: Reader) =>
  Effect.sync(() => {
    const rest: Array<number> = []
    while (!body.atEnd()) rest.push(body.u8())
    into.push({ from, kind, body: rest })
  })

/**
 * Wires a demultiplexer on n1 with `wire`, has n2 send `payloads` to n1, runs the loop for a while
 * and returns how it ended (undefined: still running) with the demultiplexer.
 */
const deliver = (wire: (demux: FrameDemux) => void, payloads: ReadonlyArray<Uint8Array>) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const net = yield* inMemoryNetwork([n1, n2])
        const demux = makeFrameDemux(net.node(n1))
        wire(demux)
        for (const payload of payloads) yield* net.node(n2).send(n1, payload)
        const exit = yield* Effect.raceFirst(Effect.exit(demux.run), Effect.as(turns(500), undefined))
        return { exit, demux }
      })
    )
  )

describe("the frame demultiplexer", () => {
  it("hands each service exactly the frames of the kinds it registered, in arrival order", async () => {
    const a: Array<Received> = []
    const b: Array<Received> = []
    const { exit, demux } = await deliver((d) => {
      d.register("a", [70, 72], recorder(a))
      d.register("b", [71], recorder(b))
    }, [frame(70, bytes(1)), frame(71, bytes(2)), frame(72, bytes(3)), frame(70, bytes(4))])
    expect(exit).toBeUndefined()
    expect(a).toEqual([
      { from: n2, kind: 70, body: [1] },
      { from: n2, kind: 72, body: [3] },
      { from: n2, kind: 70, body: [4] }
    ])
    expect(b).toEqual([{ from: n2, kind: 71, body: [2] }])
    expect(demux.owner(71)).toBe("b")
    expect(demux.owner(73)).toBeUndefined()
    expect(demux.dropped()).toEqual({ damaged: 0, unowned: 0 })
  })

  it("drops and counts frames of unowned kinds and damaged frames, and goes on", async () => {
    const a: Array<Received> = []
    const damaged = frame(70, bytes(9))
    damaged[damaged.length - 1] ^= 1 // the checksum no longer matches
    const { exit, demux } = await deliver((d) => {
      d.register("a", [70], recorder(a))
      d.register("picky", [74], () => {
        throw new RaftDecodeError({ message: "bad body" })
      })
    }, [frame(99, bytes(1)), damaged, bytes(1, 2, 3), frame(74, bytes()), frame(70, bytes(5))])
    expect(exit).toBeUndefined()
    expect(a).toEqual([{ from: n2, kind: 70, body: [5] }])
    expect(demux.dropped()).toEqual({ damaged: 3, unowned: 1 })
  })

  it("stops with an invariant violation a handler raises (a bug is never dropped as a bad frame)", async () => {
    const { exit } = await deliver((d) => {
      d.register("buggy", [70], () => {
        throw new InvariantViolation("handler broke")
      })
    }, [frame(70, bytes())])
    expect(exit !== undefined && Exit.isFailure(exit)).toBe(true)
    const defect = exit !== undefined && Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    expect(defect).toBeInstanceOf(InvariantViolation)
  })

  it("refuses a kind registered twice, naming both services, and a kind a frame cannot carry", async () => {
    const net = await Effect.runPromise(inMemoryNetwork([n1]))
    const demux = makeFrameDemux(net.node(n1))
    demux.register("first", [80, 81], () => Effect.void)
    expect(() => demux.register("second", [82, 81], () => Effect.void)).toThrow(InvariantViolation)
    expect(() => demux.register("second", [81], () => Effect.void)).toThrow(/81 is already registered by first/)
    expect(demux.owner(81)).toBe("first")
    expect(() => demux.register("third", [256], () => Effect.void)).toThrow(InvariantViolation)
    expect(() => demux.register("third", [-1], () => Effect.void)).toThrow(InvariantViolation)
    // A kind nobody took is still free.
    demux.register("third", [83], () => Effect.void)
    expect(demux.owner(83)).toBe("third")
  })
})
