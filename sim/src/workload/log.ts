/**
 * The streaming log workload: every node runs the storage node with the log
 * service; three client processes (never faulted) speak the log client
 * protocol to the cluster:
 *
 * - c1 creates the topic (several partitions, replication factor 3, or the
 *   node count if smaller) and then sends through an **idempotent producer**,
 *   round robin over the partitions, retrying sends whose outcome is unknown;
 * - c2 sends **plain** batches (no producer id) and never retries a send
 *   whose outcome is unknown;
 * - c3 **consumes**: polls each partition from its position, commits its
 *   positions as consumer group offsets and reads them back (a committed
 *   offset must never go backwards), and, after the faults heal and the
 *   producers stop, reads every partition whole: the final read.
 *
 * Each record's value is a unique number; the history (sends with their
 * outcomes and offsets, polls, the final read) goes to the log checker in
 * `@cairn/jepsen` (`checker/log.ts`).
 */
import { Clock, type NodeId } from "@cairn/core"
import { assert } from "@cairn/core/invariant/invariant"
import { makeIdempotentProducer } from "@cairn/core/log/client/idempotent-producer"
import { makeLogClient, type LogClient } from "@cairn/core/log/client/log-client"
import { decodeBatch, encodeBatch, type LogRecord } from "@cairn/core/log/record-batch"
import type { ReplicaPlantedBug } from "@cairn/core/log/replication/planted-bugs"
import type { RaftObserver } from "@cairn/core/raft/node"
import type { LogPoll, LogSend } from "@cairn/jepsen"
import { Effect, Result } from "effect"
import type { NodeProgram } from "../cluster.ts"
import { RaftInvariants } from "../raft/invariants.ts"
import { logServers, type LogServers } from "../log/log-cluster.ts"

export const LOG_TOPIC = "events"

export interface LogWorkload {
  readonly server: NodeProgram
  readonly client: NodeProgram
  readonly servers: LogServers
  readonly sends: ReadonlyArray<LogSend>
  readonly polls: ReadonlyArray<LogPoll>
  readonly final: ReadonlyMap<string, LogPoll>
  /** Virtual ns of each client's last ok operation. */
  readonly lastOk: ReadonlyMap<NodeId, number>
  /** Consumer group offsets read back lower than one committed before. */
  readonly offsetRegressions: ReadonlyArray<string>
  /** Problems of the workload itself (a final read that could not finish). */
  readonly problems: ReadonlyArray<string>
  readonly counts: { ok: number; fail: number; info: number; polls: number; commits: number }
  /** Partition snapshots taken (each compacting a group's Raft log) and installed on a lagging replica, so far. */
  readonly snapshots: () => { readonly compactions: number; readonly installs: number }
}

/**
 * The simulator's partition snapshot settings: a snapshot every few dozen entries and segment syncs
 * every few batches, so compaction, snapshot installs and copies from peers happen within a seed.
 */
export const SIM_PARTITION_SNAPSHOTS = { every: 8, syncBytes: 1 << 10, catchUpTimeoutMs: 500 } as const

/**
 * Raft's safety invariants on every partition group (one checker per group: indexes and terms are
 * per group), and their compactions and snapshot installs summed over every node and incarnation.
 */
const partitionGroupChecks = (report: (violation: string) => void) => {
  const groups = new Map<string, RaftInvariants>()
  const observer = (group: string): RaftObserver => {
    let invariants = groups.get(group)
    if (invariants === undefined) {
      invariants = new RaftInvariants((violation) => report(`partition group ${group}: ${violation}`))
      groups.set(group, invariants)
    }
    return invariants.observer()
  }
  const snapshots = () => {
    const counts = { compactions: 0, installs: 0 }
    for (const invariants of groups.values()) {
      const coverage = invariants.coverage()
      counts.compactions += coverage.compactions!
      counts.installs += coverage.snapshotsInstalled!
    }
    return counts
  }
  return { observer, snapshots }
}

const recordOf = (value: number): LogRecord => {
  const bytes = new Uint8Array(4)
  new DataView(bytes.buffer).setUint32(0, value)
  return { attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: bytes, headers: [] }
}

/** (offset, value) of every record in stored batches; a batch that does not decode is a bug. */
export const recordsOf = (batches: ReadonlyArray<Uint8Array>): Array<readonly [number, number]> => {
  const out: Array<readonly [number, number]> = []
  for (const b of batches) {
    const decoded = decodeBatch(b)
    if (Result.isFailure(decoded)) throw new Error(`a fetched batch does not decode: ${decoded.failure.message}`)
    for (const r of decoded.success.records) {
      const v = r.value === null || r.value.length !== 4 ? -1 : new DataView(r.value.buffer, r.value.byteOffset, 4).getUint32(0)
      out.push([decoded.success.header.baseOffset + r.offsetDelta, v])
    }
  }
  return out
}

export const logWorkload = (options: {
  readonly voters: ReadonlyArray<NodeId>
  readonly partitions: number
  readonly now: () => number
  /** Producers and the consumer stop here (virtual ns), after the heal. */
  readonly stopAtNs: number
  /** The final read starts here. */
  readonly finalAtNs: number
  readonly observer?: RaftObserver
  /** Where a partition group's Raft safety violation goes (default: thrown, which stops the node). */
  readonly report?: (violation: string) => void
  /** Test only: a bug planted in every partition replica (the checker must catch it). */
  readonly plantedBug?: ReplicaPlantedBug | undefined
}): LogWorkload => {
  const groupChecks = partitionGroupChecks(options.report ?? ((violation) => assert(false, violation)))
  const servers = logServers({
    voters: options.voters,
    ...(options.observer === undefined ? {} : { observer: options.observer }),
    log: {
      reconcileMs: 100,
      requestTimeoutMs: 1_000,
      snapshot: SIM_PARTITION_SNAPSHOTS,
      observer: groupChecks.observer,
      ...(options.plantedBug === undefined ? {} : { plantedBug: options.plantedBug })
    }
  })
  const sends: Array<LogSend> = []
  const polls: Array<LogPoll> = []
  const final = new Map<string, LogPoll>()
  const lastOk = new Map<NodeId, number>()
  const offsetRegressions: Array<string> = []
  const problems: Array<string> = []
  const counts = { ok: 0, fail: 0, info: 0, polls: 0, commits: 0 }
  const rf = Math.min(3, options.voters.length)
  const running = () => options.now() < options.stopAtNs
  const pause = (ms: number) => Effect.flatMap(Clock, (clock) => clock.sleep(ms))

  /** Waits until the topic exists (c1 creates it); c1 itself creates it. */
  const awaitTopic = (client: LogClient, create: boolean) =>
    Effect.gen(function*() {
      while (running()) {
        const r = yield* Effect.result(create ? client.createTopic({ name: LOG_TOPIC, partitions: options.partitions, replicationFactor: rf }) : client.describeTopic(LOG_TOPIC))
        if (r._tag === "Success" || (r.failure._tag === "LogRequestError" && r.failure.code === "topic-exists")) return true
        yield* pause(200)
      }
      return false
    })

  const recordSend = (self: NodeId, send: Omit<LogSend, "outcome" | "offset">, outcome: Result.Result<{ readonly baseOffset: number }, { readonly _tag: string }>) => {
    if (outcome._tag === "Success") {
      counts.ok++
      lastOk.set(self, options.now())
      sends.push({ ...send, outcome: "ok", offset: outcome.success.baseOffset, completedAt: options.now() })
    } else {
      const kind = outcome.failure._tag === "LogAmbiguousError" ? "info" : "fail"
      counts[kind]++
      sends.push({ ...send, outcome: kind, completedAt: options.now() })
    }
  }

  const produce = (self: NodeId, client: LogClient, idempotent: boolean, base: number) =>
    Effect.gen(function*() {
      if (!(yield* awaitTopic(client, idempotent))) return
      const producer = makeIdempotentProducer(client)
      for (let i = 0; running(); i++) {
        const partition = i % options.partitions
        const value = base + i
        const send = { producer: self, idempotent, partition: `${LOG_TOPIC}/${partition}`, value }
        const outcome = idempotent
          ? yield* Effect.result(producer.send(LOG_TOPIC, partition, [recordOf(value)], 1_000 + i))
          : yield* Effect.result(client.produce(LOG_TOPIC, partition, encodeBatch({ baseTimestamp: 1_000 + i, records: [recordOf(value)] })))
        recordSend(self, send, outcome)
        yield* pause(20)
      }
    })

  /** Reads a partition from `from` to its high watermark; undefined if the cluster did not answer. */
  const readAll = (client: LogClient, partition: number, from: number) =>
    Effect.gen(function*() {
      // A send still in flight may commit after this read passed the end: the checker knows when it began (log seed 59).
      const startedAt = options.now()
      const records: Array<readonly [number, number]> = []
      let next = from
      let logStartOffset = from
      for (;;) {
        const r = yield* Effect.result(client.fetch(LOG_TOPIC, partition, next, 64 << 10))
        if (r._tag === "Failure") {
          const bounds = r.failure._tag === "LogRequestError" ? r.failure.bounds : undefined
          if (bounds === undefined || next >= bounds.logStartOffset) return undefined
          next = logStartOffset = bounds.logStartOffset // retention moved the start: read on from it
          continue
        }
        const got = recordsOf(r.success.batches)
        records.push(...got)
        logStartOffset = Math.min(logStartOffset, Math.max(from, r.success.logStartOffset))
        const done = { partition: `${LOG_TOPIC}/${partition}`, from, records, logStartOffset, startedAt }
        if (got.length === 0 || next >= r.success.highWatermark) return done
        next = got[got.length - 1]![0] + 1
        if (next >= r.success.highWatermark) return done
      }
    })

  const consume = (self: NodeId, client: LogClient) =>
    Effect.gen(function*() {
      if (!(yield* awaitTopic(client, false))) return
      const positions = Array.from({ length: options.partitions }, () => 0)
      const committed = Array.from({ length: options.partitions }, () => 0)
      while (running()) {
        for (let p = 0; p < options.partitions && running(); p++) {
          const r = yield* Effect.result(client.fetch(LOG_TOPIC, p, positions[p]!, 16 << 10))
          if (r._tag === "Success") {
            const records = recordsOf(r.success.batches)
            polls.push({ partition: `${LOG_TOPIC}/${p}`, from: positions[p]!, records, logStartOffset: r.success.logStartOffset })
            counts.polls++
            lastOk.set(self, options.now())
            if (records.length > 0) positions[p] = records[records.length - 1]![0] + 1
          }
          const commit = yield* Effect.result(client.commitOffset("g", LOG_TOPIC, p, positions[p]!))
          if (commit._tag === "Success") {
            counts.commits++
            lastOk.set(self, options.now())
            committed[p] = Math.max(committed[p]!, positions[p]!)
          }
          const back = yield* Effect.result(client.fetchOffset("g", LOG_TOPIC, p))
          if (back._tag === "Success" && (back.success.offset ?? 0) < committed[p]!) {
            offsetRegressions.push(`group g ${LOG_TOPIC}/${p}: read back ${back.success.offset} after committing ${committed[p]}`)
          }
        }
        yield* pause(50)
      }
      yield* pause(Math.max(0, (options.finalAtNs - options.now()) / 1e6))
      for (let p = 0; p < options.partitions; p++) {
        const whole = yield* readAll(client, p, 0)
        if (whole === undefined) problems.push(`the final read of ${LOG_TOPIC}/${p} got no answer`)
        else {
          final.set(whole.partition, whole)
          lastOk.set(self, options.now())
        }
      }
    })

  const client: NodeProgram = ({ id }) =>
    Effect.scoped(
      Effect.gen(function*() {
        // Short attempts (the nodes answer "timeout" after 1 s): a lost request costs little of the window after the heal.
        const logClient = yield* makeLogClient({ nodes: options.voters, requestTimeoutMs: 1_500 })
        if (id === "c1") yield* produce(id, logClient, true, 1_000_000)
        else if (id === "c2") yield* produce(id, logClient, false, 2_000_000)
        else yield* consume(id, logClient)
      })
    )

  return { server: servers.server, client, servers, sends, polls, final, lastOk, offsetRegressions, problems, counts, snapshots: groupChecks.snapshots }
}
