/**
 * @cairn/runtime-test: instant, fault-free, in-memory implementations of
 * every core service, for fast unit tests of core components.
 */
import { Clock, Disk, Network, Random, type NodeId } from "@cairn/core"
import { Effect, Layer } from "effect"
import { instantClock } from "./clock.ts"
import { inMemoryDisk } from "./disk.ts"
import { inMemoryNetwork } from "./network.ts"
import { seededRandom, seededSource } from "./random.ts"

export * from "./clock.ts"
export * from "./disk.ts"
export * from "./network.ts"
export * from "./random.ts"

/** Clock, Random, Disk and a one-node Network for a single-node unit test. */
export const testServices = (self: NodeId, seed = "test"): Layer.Layer<Clock | Random | Disk | Network> =>
  Layer.mergeAll(
    Layer.succeed(Clock, instantClock()),
    Layer.succeed(Random, seededRandom(seededSource(seed))),
    Layer.succeed(Disk, inMemoryDisk()),
    Layer.effect(Network, Effect.map(inMemoryNetwork([self]), (net) => net.node(self)))
  )
