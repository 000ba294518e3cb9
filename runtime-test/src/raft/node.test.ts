import { Clock, Disk, Network, Random } from "@cairn/core"
import { inMemoryDisk, inMemoryNetwork, instantClock, seededRandom, seededSource } from "../index.ts"
import { Cause, Effect, Exit, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { InvariantViolation } from "@cairn/core/invariant/invariant"
import { nodeId } from "@cairn/core/node/node-id"
import { FIRST_FOREIGN_KIND, frame } from "@cairn/core/raft/codec"
import { makeRaftNode } from "@cairn/core/raft/node"
import { makeFrameDemux } from "@cairn/core/transport/frame-demux"

const [n1, n2] = [nodeId("n1"), nodeId("n2")]

/**
 * Runs a one-voter node n1 beside a service whose frame handler throws `thrown` when called, has n2 send
 * it a damaged frame and then a foreign one, and returns how the node's run ended (undefined:
 * still running after many scheduler turns).
 */
const runAfterFrames = (thrown: unknown) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const net = yield* inMemoryNetwork([n1, n2])
        const frames = makeFrameDemux(net.node(n1))
        frames.register("test", [FIRST_FOREIGN_KIND], () => {
          throw thrown
        })
        const { run } = yield* makeRaftNode({
          id: n1,
          voters: [n1],
          dataDir: "n1",
          stateMachine: { apply: () => undefined },
          frames
        }).pipe(Effect.provideService(Network, net.node(n1)))
        yield* net.node(n2).send(n1, new Uint8Array([1, 2, 3])) // damaged: dropped
        yield* net.node(n2).send(n1, frame(FIRST_FOREIGN_KIND, new Uint8Array(0)))
        const bound = Effect.as(Effect.forEach(Array.from({ length: 2_000 }), () => Effect.yieldNow, { discard: true }), undefined)
        return yield* Effect.raceFirst(Effect.exit(run), bound)
      })
    ).pipe(
      Effect.provide(Layer.mergeAll(
        Layer.succeed(Clock, instantClock()),
        Layer.succeed(Random, seededRandom(seededSource("node-test"))),
        Layer.succeed(Disk, inMemoryDisk())
      ))
    )
  )

describe("the Raft node's receiver", () => {
  it("lets an invariant violation through: the node stops with it (a bug is never swallowed)", async () => {
    const exit = await runAfterFrames(new InvariantViolation("handler broke"))
    expect(exit !== undefined && Exit.isFailure(exit)).toBe(true)
    const defect = exit !== undefined && Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    expect(defect).toBeInstanceOf(InvariantViolation)
  })

  it("drops a frame it cannot decode and goes on", async () => {
    // The same frames, with a handler that fails as a damaged frame's decoding does: the node runs on.
    const exit = await runAfterFrames(new RangeError("bad frame"))
    expect(exit).toBeUndefined()
  })
})
