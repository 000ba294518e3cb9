/**
 * Test support for object-layer tests on a quiet simulated cluster: bodies
 * of known bytes, a put helper, and `onCluster`, which runs a test program
 * on n1 once the cluster is up.
 */
import { Clock, nodeId, type NodeId } from "@cairn/core"
import type { ObjectStore } from "@cairn/core/object/object-api"
import { Effect, Stream } from "effect"
import { quietCluster, runFor } from "../harness.test-support.ts"
import { objectServers } from "./object-cluster.ts"

export const voters = [nodeId("n1"), nodeId("n2"), nodeId("n3")]

export const bytes = (n: number, seed: number) => {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** A body as a stream of uneven chunks, like a network would deliver it. */
export const chunked = (data: Uint8Array, chunk = 70_001) =>
  Stream.fromIterable(Array.from({ length: Math.ceil(data.length / chunk) }, (_, i) => data.subarray(i * chunk, (i + 1) * chunk)))

export const put = (store: ObjectStore, bucket: string, key: string, data: Uint8Array, attributes: ReadonlyArray<readonly [string, string]> = []) =>
  store.putObject({ bucket, key, body: chunked(data), size: data.length, finish: () => Effect.succeed(attributes) })

/** Runs `test` on n1's object store once the cluster is up; returns its result after `ms` of virtual time. */
export const onCluster = <A>(
  test: (store: ObjectStore, servers: ReturnType<typeof objectServers>, cluster: ReturnType<typeof quietCluster>) => Effect.Effect<A, unknown, Clock>,
  ms = 60_000,
  options: Parameters<typeof objectServers>[0]["object"] = {},
  topology: { readonly voters: ReadonlyArray<NodeId>; readonly members?: () => ReadonlyArray<NodeId> } = { voters }
) => {
  const cluster = quietCluster({ nodes: topology.voters.length })
  const servers = objectServers({
    voters: topology.voters,
    ...(topology.members === undefined ? {} : { members: topology.members }),
    object: { gcIntervalMs: 1_000, repairIntervalMs: 2_000, maxWriteMs: 5_000, ...options }
  })
  let outcome: { value: A } | { error: unknown } | undefined
  cluster.start((node) =>
    node.id === "n1"
      ? Effect.raceFirst(
        servers.server(node),
        Effect.gen(function*() {
          const clock = yield* Clock
          yield* clock.sleep(2_000)
          const store = servers.node(nodeId("n1"))!.store
          outcome = { value: yield* test(store, servers, cluster) }
        }).pipe(Effect.catchCause((cause) => Effect.sync(() => (outcome = { error: cause }))), Effect.andThen(Effect.never))
      )
      : servers.server(node)
  )
  runFor(cluster, ms)
  if (outcome === undefined) throw new Error("the test program did not finish")
  if ("error" in outcome) throw new Error(`the test program failed: ${String(outcome.error)}`)
  return { value: outcome.value, cluster }
}
