/**
 * Group coordinators for tests: over an in-process KV, on a manual clock,
 * with a fixed broker directory; requests go through `handle` as the
 * broker sends them, and answers that block (JoinGroup, SyncGroup) are
 * forked so the test can move time and look at them.
 */
import { Effect, Exit, Fiber, Scope } from "effect"
import { Clock } from "../../clock/clock.ts"
import { manualClock, settle, type ManualClock } from "../../clock/manual-clock.test-support.ts"
import { localKv, type StateMachineKv } from "../../kv/state-machine-kv.test-support.ts"
import { nodeId } from "../../node/node-id.ts"
import { Random, type RandomShape } from "../../random/random.ts"
import type { BrokerDirectory, GroupApiName, GroupRequestContext } from "../broker/group-port.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import { makeGroupCoordinator, type CairnGroupCoordinator } from "./coordinator.ts"
import type { GroupConfig } from "./group.ts"

/** A small deterministic stream (splitmix32), enough for member ids. */
export const testRandom = (seed: number): RandomShape => {
  let x = seed >>> 0
  const next = () => {
    x = (x + 0x9e3779b9) >>> 0
    let z = x
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  return {
    nextUint32: Effect.sync(next),
    nextIntBetween: (min, max) => Effect.sync(() => min + (next() % (max - min + 1))),
    split: (label) => testRandom(seed ^ [...label].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261))
  }
}

export const directoryOf = (self: string, nodes: ReadonlyArray<string>): BrokerDirectory => {
  const brokers = nodes.map((n, i) => ({ node: nodeId(n), address: { brokerId: i + 1, host: "127.0.0.1", port: 19092 + i, rack: null } }))
  return {
    self: nodeId(self),
    brokers: Effect.succeed(brokers),
    brokerOf: (node) => Effect.succeed(brokers.find((b) => b.node === node)?.address)
  }
}

export const context = (apiVersion: number, clientId = "client"): GroupRequestContext => ({ apiVersion, clientId, clientHost: "/127.0.0.1", principal: "anonymous" })

export interface TestCoordinator {
  readonly coordinator: CairnGroupCoordinator
  readonly call: <N extends GroupApiName>(api: N, version: number, body: RequestOf<N>, clientId?: string) => Effect.Effect<ResponseOf<N>>
  /** Starts a request that may block; `answer` is undefined until it completes. */
  readonly start: <N extends GroupApiName>(api: N, version: number, body: RequestOf<N>, clientId?: string) => Effect.Effect<Pending<ResponseOf<N>>>
  readonly close: Effect.Effect<void>
}

export interface Pending<A> {
  readonly answer: () => A | undefined
  /** The client goes away: its request's fiber is interrupted. */
  readonly interrupt: Effect.Effect<void>
}

export interface CoordinatorOptions {
  readonly kv?: StateMachineKv
  readonly clock?: ManualClock
  readonly self?: string
  readonly nodes?: ReadonlyArray<string>
  readonly config?: Partial<GroupConfig>
  readonly seed?: number
}

export const makeTestCoordinator = (o: CoordinatorOptions = {}) =>
  Effect.gen(function*() {
    const kv = o.kv ?? localKv()
    const clock = o.clock ?? manualClock()
    const scope = yield* Scope.make()
    const coordinator = yield* makeGroupCoordinator({ kv, directory: directoryOf(o.self ?? "n1", o.nodes ?? [o.self ?? "n1"]), ...(o.config === undefined ? {} : { config: o.config }) }).pipe(
      Effect.provideService(Clock, clock),
      Effect.provideService(Random, testRandom(o.seed ?? 1)),
      Scope.provide(scope)
    )
    const call = <N extends GroupApiName>(api: N, version: number, body: RequestOf<N>, clientId?: string) =>
      coordinator.handle(api, body, context(version, clientId))
    const start = <N extends GroupApiName>(api: N, version: number, body: RequestOf<N>, clientId?: string) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkDetach(call(api, version, body, clientId))
        yield* settle
        return {
          interrupt: Fiber.interrupt(fiber),
          answer: () => {
            const exit = fiber.pollUnsafe()
            if (exit === undefined) return undefined
            if (Exit.isSuccess(exit)) return exit.value
            throw new Error(`request failed: ${String(exit.cause)}`)
          }
        }
      })
    const t: TestCoordinator = { coordinator, call, start, close: Scope.close(scope, Exit.void) }
    return { t, kv, clock }
  })

