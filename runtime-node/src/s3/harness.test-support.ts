/**
 * A one-node Cairn with its S3 endpoint for integration tests: the real
 * Raft KV server and object layer (in-memory disk and network, the system
 * clock, which SigV4 needs), the user directory in the KV, and the
 * listener on a free loopback port.
 */
import { Disk, Network, nodeId } from "@cairn/core"
import type { KvServer } from "@cairn/core/kv/server"
import { makeStorageNode } from "@cairn/core/node/storage-node"
import type { ObjectStore } from "@cairn/core/object/object-api"
import { makeUsers, type Users } from "@cairn/core/s3/users"
import { inMemoryDisk, inMemoryNetwork } from "@cairn/runtime-test"
import { Effect, Exit, Layer, Scope } from "effect"
import { SystemClockLive } from "../clock/system-clock.ts"
import { SystemRandomLive } from "../random/system-random.ts"
import { setLogLevel } from "../log/log.ts"
import { nodeDigest, NodeDigestLive } from "./digest.ts"
import { type S3Listener, startS3Listener, type S3ListenerOptions } from "./listener.ts"
import { operationContext, type TestRequest } from "@cairn/core/s3/operations.test-support"
import type { OperationContext } from "@cairn/core/s3/context"
import { afterAll, beforeAll } from "vitest"

export const ADMIN = { accessKey: "CAIRNTESTADMINKEY0001", secretKey: "test-admin-secret-key-0123456789" }

export interface TestS3 {
  readonly endpoint: string
  readonly port: number
  readonly store: ObjectStore
  readonly users: Users
  readonly kv: KvServer
  /** The listener's overload figures (admitted, queued, shed, connections). */
  readonly overload: S3Listener["overload"]
  /** Runs an effect with the node's services (for driving the user directory). */
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Promise<A>
  readonly close: () => Promise<void>
}

export const startTestS3 = async (options: Partial<Pick<S3ListenerOptions, "tls" | "baseDomains" | "maxHeaderBytes" | "region" | "onExchange" | "limits">> = {}): Promise<TestS3> => {
  setLogLevel("error")
  const scope = await Effect.runPromise(Scope.make())
  const n1 = nodeId("n1")
  const services = Layer.mergeAll(SystemClockLive, SystemRandomLive, NodeDigestLive, Layer.succeed(Disk, inMemoryDisk()))
  const program = Effect.gen(function*() {
    const network = (yield* inMemoryNetwork([n1])).node(n1)
    const { kv, objects: node, run } = yield* Effect.gen(() =>
      makeStorageNode({ id: n1, voters: [n1], kv: { dataDir: "raft" }, objects: { members: () => [{ id: n1, domain: "n1" }] } })
    ).pipe(Effect.provideService(Network, network))
    yield* Effect.forkScoped(run)
    yield* Effect.forkScoped(node.background)
    const users = makeUsers(node.kv, ADMIN)
    const listener = yield* startS3Listener({ store: node.store, users, address: { host: "127.0.0.1", port: 0 }, drainMs: 100, ...options })
    const context = yield* Effect.context<never>()
    return { store: node.store, users, listener, context, kv }
  })
  const started = await Effect.runPromise(program.pipe(Scope.provide(scope), Effect.provide(services)))
  return {
    endpoint: `${started.listener.scheme}://127.0.0.1:${started.listener.address.port}`,
    port: started.listener.address.port,
    store: started.store,
    users: started.users,
    kv: started.kv,
    overload: started.listener.overload,
    run: (effect) => Effect.runPromise(effect.pipe(Effect.provide(services))),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/**
 * The setup a file of S3 operation tests shares (core/src/s3's operations called directly on a
 * test S3): one test S3 started before the file's tests and closed after them. `s3` stands for
 * it and `ctx` builds a request's operation context; use both inside tests, once it has started.
 */
export const useOperationTestS3 = (): { readonly s3: TestS3; readonly ctx: (r: TestRequest) => OperationContext } => {
  let started: TestS3 | undefined
  beforeAll(async () => {
    started = await startTestS3()
  })
  afterAll(async () => {
    await started?.close()
  })
  const current = (): TestS3 => {
    if (started === undefined) throw new Error("the test S3 is used before beforeAll started it")
    return started
  }
  const s3: TestS3 = {
    get endpoint() {
      return current().endpoint
    },
    get port() {
      return current().port
    },
    get store() {
      return current().store
    },
    get users() {
      return current().users
    },
    get kv() {
      return current().kv
    },
    overload: () => current().overload(),
    run: (effect) => current().run(effect),
    close: () => current().close()
  }
  return { s3, ctx: (r) => operationContext({ store: s3.store, users: s3.users, digest: nodeDigest }, r) }
}
