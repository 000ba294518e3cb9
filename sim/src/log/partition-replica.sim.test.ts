import { Network, nodeId, type NodeId } from "@cairn/core"
import { encodeBatch } from "@cairn/core/log/record-batch"
import { makeGroupTransport } from "@cairn/core/log/replication/group-transport"
import { openPartitionReplica, type PartitionReplica, type PartitionReplicaConfig } from "@cairn/core/log/replication/partition-replica"
import { makeFrameDemux } from "@cairn/core/transport/frame-demux"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { quietCluster, runFor } from "../harness.test-support.ts"

const voters = [nodeId("n1"), nodeId("n2"), nodeId("n3")]
const text = new TextEncoder()

const batch = (value: string, producer?: { readonly id: number; readonly epoch: number; readonly seq: number }) =>
  encodeBatch({
    baseTimestamp: 1_000,
    records: [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: text.encode(value), headers: [] }],
    ...(producer === undefined ? {} : { producerId: producer.id, producerEpoch: producer.epoch, baseSequence: producer.seq })
  })

/** Every node runs two partition groups, "p0" and "p1", over one transport; `replicas` holds the live ones. */
const startReplicas = (cluster: ReturnType<typeof quietCluster>, replicas: Map<string, PartitionReplica>, extra: Partial<PartitionReplicaConfig> = {}) =>
  cluster.start(({ id }) =>
    Effect.scoped(
      Effect.gen(function*() {
        const network = yield* Network
        const frames = makeFrameDemux(network)
        const transport = makeGroupTransport(network, frames)
        const runs: Array<Effect.Effect<never, unknown>> = []
        for (const group of ["p0", "p1"]) {
          const replica = yield* openPartitionReplica({ id, group, voters, dir: `log/${group}`, transport, ...extra })
          replicas.set(`${id}/${group}`, replica)
          runs.push(replica.run)
        }
        yield* Effect.raceAll([frames.run, ...runs])
      })
    ).pipe(Effect.orDie)
  )

const leaderOf = (replicas: Map<string, PartitionReplica>, group: string) =>
  Effect.gen(function*() {
    for (const id of voters) {
      const r = replicas.get(`${id}/${group}`)
      if (r !== undefined && (yield* r.raft.status).role === "leader") return r
    }
    return undefined
  })

describe("replicated partitions (one Raft group each) on a 3-node simulated cluster", () => {
  it("acknowledge appends with consecutive offsets, serve them from every replica below the high watermark, and keep groups apart", () => {
    const cluster = quietCluster({ nodes: 3 })
    const replicas = new Map<string, PartitionReplica>()
    startReplicas(cluster, replicas)
    let result: { offsets: Array<number>; p1: Array<number>; reads: Record<string, number>; hw: Record<string, number> } | undefined
    let failure: unknown
    runFor(cluster, 3_000)
    Effect.runFork(
      Effect.gen(function*() {
        const offsets: Array<number> = []
        const p0 = replicas.get("n2/p0")!
        for (let i = 0; i < 5; i++) offsets.push((yield* p0.append(batch(`v${i}`), 2_000)).baseOffset)
        const p1 = [(yield* replicas.get("n3/p1")!.append(batch("other"), 2_000)).baseOffset]
        const reads: Record<string, number> = {}
        const hw: Record<string, number> = {}
        for (const id of voters) {
          const f = yield* replicas.get(`${id}/p0`)!.read(0, 1 << 20, { linearizable: true, timeoutMs: 2_000 })
          reads[id] = f.batches.length
          hw[id] = f.highWatermark
        }
        result = { offsets, p1, reads, hw }
      }).pipe(Effect.catchCause((cause) => Effect.sync(() => (failure = cause)))),
      { scheduler: cluster.scheduler }
    )
    runFor(cluster, 10_000)
    expect(failure).toBeUndefined()
    expect(result?.offsets).toEqual([0, 1, 2, 3, 4])
    expect(result?.p1).toEqual([0])
    expect(result?.reads).toEqual({ n1: 5, n2: 5, n3: 5 })
    expect(result?.hw).toEqual({ n1: 5, n2: 5, n3: 5 })
  })
})

describe("a replicated partition through a leader crash", () => {
  it("keeps every acknowledged batch, answers an idempotent retry with its first offset, fences an old epoch, and the restarted replica converges byte for byte", () => {
    const cluster = quietCluster({ nodes: 3 })
    const replicas = new Map<string, PartitionReplica>()
    startReplicas(cluster, replicas)
    runFor(cluster, 3_000)
    const log: Array<string> = []
    let failure: unknown
    let crashed: NodeId | undefined
    const producer = { id: 7, epoch: 1 }
    Effect.runFork(
      Effect.gen(function*() {
        const leader = (yield* leaderOf(replicas, "p0"))!
        // Time passes on a node that stays up.
        const clock = cluster.clock(voters.find((v) => v !== leader.raft.id)!).service()
        const first = yield* leader.append(batch("a", { ...producer, seq: 0 }), 2_000)
        log.push(`a@${first.baseOffset}`)
        crashed = leader.raft.id
        cluster.crash(crashed)
        yield* clock.sleep(3_000)
        const next = (yield* leaderOf(replicas, "p0"))!
        // The producer did not hear its answer and retries on the new leader: the same offset, not a copy.
        const retry = yield* next.append(batch("a", { ...producer, seq: 0 }), 2_000)
        log.push(`retry@${retry.baseOffset}${retry.duplicate ? " dup" : ""}`)
        const b = yield* next.append(batch("b", { ...producer, seq: 1 }), 2_000)
        log.push(`b@${b.baseOffset}`)
        const gap = yield* Effect.flip(next.append(batch("c", { ...producer, seq: 5 }), 2_000))
        log.push(gap._tag === "AppendRefusedError" ? gap.reason : gap._tag)
        const newer = yield* next.append(batch("z", { id: 7, epoch: 2, seq: 0 }), 2_000)
        log.push(`z@${newer.baseOffset}`)
        const fenced = yield* Effect.flip(next.append(batch("old", { ...producer, seq: 2 }), 2_000))
        log.push(fenced._tag === "AppendRefusedError" ? fenced.reason : fenced._tag)
        cluster.restart(crashed)
        yield* clock.sleep(5_000)
      }).pipe(Effect.catchCause((cause) => Effect.sync(() => (failure = cause)))),
      { scheduler: cluster.scheduler }
    )
    runFor(cluster, 20_000)
    expect(failure).toBeUndefined()
    expect(log).toEqual(["a@0", "retry@0 dup", "b@1", "out-of-order", "z@2", "fenced"])
    let contents: Array<string> | undefined
    Effect.runFork(
      Effect.gen(function*() {
        const all: Array<string> = []
        for (const id of voters) {
          const f = yield* replicas.get(`${id}/p0`)!.read(0, 1 << 20, { linearizable: false, timeoutMs: 1_000 })
          all.push(`${id}:${f.highWatermark}:${f.batches.map((b) => Buffer.from(b).toString("hex")).join(",")}`)
        }
        contents = all
      }).pipe(Effect.orDie),
      { scheduler: cluster.scheduler }
    )
    runFor(cluster, 1_000)
    expect(crashed).toBeDefined()
    const [a, b, c] = contents!.map((s) => s.slice(3))
    expect(a!.startsWith("3:")).toBe(true)
    expect(b).toBe(a)
    expect(c).toBe(a)
  })
})

/** Every replica's high watermark and batches of `group`, as hex, read locally. */
const contentsOf = (cluster: ReturnType<typeof quietCluster>, replicas: Map<string, PartitionReplica>, group: string) => {
  let contents: Array<string> | undefined
  Effect.runFork(
    Effect.gen(function*() {
      const all: Array<string> = []
      for (const id of voters) {
        const f = yield* replicas.get(`${id}/${group}`)!.read(0, 1 << 20, { linearizable: false, timeoutMs: 1_000 })
        all.push(`${f.highWatermark}:${f.batches.map((b) => Buffer.from(b).toString("hex")).join(",")}`)
      }
      contents = all
    }).pipe(Effect.orDie),
    { scheduler: cluster.scheduler }
  )
  runFor(cluster, 2_000)
  return contents!
}

describe("partition snapshots", () => {
  const snapshot = { every: 5, syncBytes: 300, catchUpTimeoutMs: 300 }

  it("a replica that missed many snapshots catches up through a snapshot install and copies the batches it lacks from a peer", () => {
    const cluster = quietCluster({ nodes: 3 })
    const replicas = new Map<string, PartitionReplica>()
    startReplicas(cluster, replicas, { snapshot })
    runFor(cluster, 3_000)
    let failure: unknown
    let lagging: NodeId | undefined
    Effect.runFork(
      Effect.gen(function*() {
        const leader = (yield* leaderOf(replicas, "p0"))!
        for (let i = 0; i < 3; i++) yield* leader.append(batch(`early${i}`), 2_000)
        lagging = voters.find((v) => v !== leader.raft.id)!
        cluster.crash(lagging)
        for (let i = 0; i < 30; i++) yield* leader.append(batch(`v${i}`), 2_000)
        cluster.restart(lagging)
      }).pipe(Effect.catchCause((cause) => Effect.sync(() => (failure = cause)))),
      { scheduler: cluster.scheduler }
    )
    runFor(cluster, 15_000)
    expect(failure).toBeUndefined()
    const caughtUp = replicas.get(`${lagging!}/p0`)!
    expect(caughtUp.snapshots().restored).toBeGreaterThanOrEqual(1)
    expect(caughtUp.snapshots().batchesCopied).toBeGreaterThan(0)
    const [a, b, c] = contentsOf(cluster, replicas, "p0")
    expect(a!.startsWith("33:")).toBe(true)
    expect(b).toBe(a)
    expect(c).toBe(a)
  })

  it("after every replica crashed past compactions, the group restarts from its snapshots and loses no acknowledged batch", () => {
    const cluster = quietCluster({ nodes: 3 })
    const replicas = new Map<string, PartitionReplica>()
    // The segment logs are never synced here: the batches behind each snapshot survive a crash only in its tail.
    startReplicas(cluster, replicas, { snapshot: { ...snapshot, syncBytes: 1 << 20 } })
    runFor(cluster, 3_000)
    let failure: unknown
    let taken = 0
    Effect.runFork(
      Effect.gen(function*() {
        const leader = (yield* leaderOf(replicas, "p0"))!
        for (let i = 0; i < 23; i++) yield* leader.append(batch(`v${i}`), 2_000)
        for (const id of voters) taken += replicas.get(`${id}/p0`)!.snapshots().taken
        // Every node at once: unsynced segment writes may be lost anywhere; the snapshots' tails hold them.
        for (const id of voters) cluster.crash(id)
        for (const id of voters) cluster.restart(id)
      }).pipe(Effect.catchCause((cause) => Effect.sync(() => (failure = cause)))),
      { scheduler: cluster.scheduler }
    )
    runFor(cluster, 10_000)
    expect(failure).toBeUndefined()
    expect(taken).toBeGreaterThanOrEqual(3 * 4)
    for (const id of voters) expect(replicas.get(`${id}/p0`)!.snapshots().restored).toBe(1)
    const [a, b, c] = contentsOf(cluster, replicas, "p0")
    expect(a!.startsWith("23:")).toBe(true)
    expect(b).toBe(a)
    expect(c).toBe(a)
  })
})
