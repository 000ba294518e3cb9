import { inMemoryDisk, inMemoryNetwork, instantClock, seededRandom, seededSource } from "../index.ts"
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { Clock } from "@cairn/core/clock/clock"
import { frame } from "@cairn/core/codec/frame"
import { Writer } from "@cairn/core/codec/writer"
import { Disk } from "@cairn/core/disk/disk"
import { InvariantViolation } from "@cairn/core/invariant/invariant"
import { CLIENT_REQUEST_KIND } from "@cairn/core/kv/protocol"
import { Network } from "@cairn/core/network/network"
import { SHARD_REQUEST_KIND, SHARD_RESPONSE_KIND } from "@cairn/core/object/shard-transfer"
import { Random } from "@cairn/core/random/random"
import { nodeId, type NodeId } from "@cairn/core/node/node-id"
import { makeStorageNode } from "@cairn/core/node/storage-node"

const [n1, n2] = [nodeId("n1"), nodeId("n2")]
const turns = (n: number) => Effect.forEach(Array.from({ length: n }), () => Effect.yieldNow, { discard: true })

/** A service that exists only here: it owns frame kind 90 and records what reaches it. */
const TEST_KIND = 90

const services = Layer.mergeAll(
  Layer.succeed(Clock, instantClock()),
  Layer.succeed(Random, seededRandom(seededSource("storage-node-test"))),
  Layer.succeed(Disk, inMemoryDisk())
)

describe("a storage node's services", () => {
  it("take a new service that only registers its frame kinds: it gets exactly its frames, and no kind twice", async () => {
    const outcome = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function*() {
          const net = yield* inMemoryNetwork([n1, n2])
          const node = yield* Effect.gen(() =>
            makeStorageNode({ id: n1, voters: [n1], kv: { dataDir: "raft" }, objects: { members: () => [{ id: n1, domain: "n1" }] } })
          ).pipe(Effect.provideService(Network, net.node(n1)))
          const received: Array<{ readonly from: NodeId; readonly body: string }> = []
          node.frames.register("test-service", [TEST_KIND], (from, _kind, body) =>
            Effect.sync(() => {
              received.push({ from, body: body.string() })
            }))
          // Kinds the node's own services own are refused, whoever asks.
          const refused = [0, CLIENT_REQUEST_KIND, SHARD_REQUEST_KIND, SHARD_RESPONSE_KIND, TEST_KIND].map((kind) => {
            try {
              node.frames.register("intruder", [kind], () => Effect.void)
              return "accepted"
            } catch (error) {
              return error instanceof InvariantViolation ? "refused" : "other"
            }
          })
          yield* Effect.forkScoped(node.run)
          const body = (text: string) => {
            const w = new Writer()
            w.string(text)
            return w.finish()
          }
          yield* net.node(n2).send(n1, frame(TEST_KIND, body("one")))
          yield* net.node(n2).send(n1, frame(TEST_KIND + 1, body("not ours")))
          yield* net.node(n2).send(n1, frame(TEST_KIND, body("two")))
          yield* turns(2_000)
          return {
            refused,
            received,
            owners: [0, CLIENT_REQUEST_KIND, SHARD_REQUEST_KIND, TEST_KIND].map((k) => node.frames.owner(k)),
            dropped: node.frames.dropped(),
            role: (yield* node.kv.raft.status).role
          }
        })
      ).pipe(Effect.provide(services))
    )
    expect(outcome.refused).toEqual(["refused", "refused", "refused", "refused", "refused"])
    expect(outcome.owners).toEqual(["raft", "kv", "shard-transfer", "test-service"])
    expect(outcome.received).toEqual([{ from: n2, body: "one" }, { from: n2, body: "two" }])
    expect(outcome.dropped.unowned).toBe(1)
    // The node's own services went on working beside it.
    expect(outcome.role).toBe("leader")
  })
})
