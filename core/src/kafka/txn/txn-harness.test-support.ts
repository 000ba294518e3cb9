/**
 * Transaction coordinators for tests: over an in-process KV, on a manual
 * clock, with a fixed broker directory, and a log client whose partitions
 * are real partition state machines, so markers apply as on a replica.
 */
import { Effect, Exit, Scope } from "effect"
import { Clock } from "../../clock/clock.ts"
import type { ManualClock } from "../../clock/manual-clock.test-support.ts"
import type { StateMachineKv } from "../../kv/state-machine-kv.test-support.ts"
import { type LogClient, type LogClientError, LogRequestError, LogUnavailableError, type Produced } from "../../log/client/log-client.ts"
import { ATTR_TRANSACTIONAL, encodeBatch } from "../../log/record-batch.ts"
import { encodePartitionCommand } from "../../log/replication/partition-command.ts"
import { PartitionMachine } from "../../log/replication/partition-machine.ts"
import { nodeId } from "../../node/node-id.ts"
import { directoryOf } from "../group/coordinator-harness.test-support.ts"
import { makeTxnCoordinator } from "./txn-coordinator.ts"

/** A log of real partition state machines: markers apply as they would on a replica. */
export const fakeLog = () => {
  const partitions = new Map<string, PartitionMachine>()
  const offsets = new Map<string, number>()
  /** Every batch each partition appended, as stored (base offset set), in offset order. */
  const stored = new Map<string, Array<Uint8Array>>()
  let nextId = 100
  let key = 0
  let down = false
  const machine = (topic: string, partition: number) => {
    const k = `${topic}/${partition}`
    let m = partitions.get(k)
    if (m === undefined) partitions.set(k, (m = new PartitionMachine(1 << 20)))
    return m
  }
  const unused = () => Effect.die("not used by the transaction coordinator")
  const client: LogClient = {
    produce: (topic, partition, batch) =>
      Effect.suspend((): Effect.Effect<Produced, LogClientError> => {
        if (down) return Effect.fail(new LogUnavailableError({ message: "down" }))
        const o = machine(topic, partition).apply(encodePartitionCommand({ op: "append", origin: nodeId("n1"), key: `k${key++}`, batch })).outcome
        if (o.kind === "refused") return Effect.fail(new LogRequestError({ code: o.reason, message: o.message, bounds: undefined }))
        if (o.kind === "appended") stored.set(`${topic}/${partition}`, [...(stored.get(`${topic}/${partition}`) ?? []), o.stored])
        return Effect.succeed({ baseOffset: o.baseOffset, lastOffset: o.lastOffset, duplicate: o.kind === "duplicate" })
      }),
    startProduce: (topic, partition, batch) => Effect.succeed(client.produce(topic, partition, batch)),
    fetch: unused,
    createTopic: unused,
    growTopic: unused,
    deleteTopic: unused,
    describeTopic: unused,
    alterTopic: unused,
    initProducer: () => Effect.sync(() => ({ producerId: nextId++, epoch: 0 })),
    commitOffset: (group, topic, partition, offset) => Effect.sync(() => void offsets.set(`${group}/${topic}/${partition}`, offset)),
    fetchOffset: unused
  }
  return { client, machine, offsets, stored: (topic: string, partition: number) => stored.get(`${topic}/${partition}`) ?? [], setDown: (d: boolean) => void (down = d) }
}

export type FakeLog = ReturnType<typeof fakeLog>

export const data = (producerId: number, epoch: number, seq: number) =>
  encodeBatch({
    attributes: ATTR_TRANSACTIONAL,
    baseTimestamp: 1,
    producerId,
    producerEpoch: epoch,
    baseSequence: seq,
    records: [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: Uint8Array.of(seq), headers: [] }]
  })

export const startTxnCoordinator = (kv: StateMachineKv, log: FakeLog, clock: ManualClock, self = "n1", nodes = ["n1"]) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const c = yield* makeTxnCoordinator({ kv, log: log.client, directory: directoryOf(self, nodes), partitionExists: () => Effect.succeed(true) }).pipe(
      Effect.provideService(Clock, clock),
      Scope.provide(scope)
    )
    return { c, close: Scope.close(scope, Exit.void) }
  })

