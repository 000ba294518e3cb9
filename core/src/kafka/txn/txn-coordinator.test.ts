import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { manualClock } from "../../clock/manual-clock.test-support.ts"
import { localKv } from "../../kv/state-machine-kv.test-support.ts"
import type { CairnTxnCoordinator } from "./txn-coordinator.ts"
import { fakeLog, type FakeLog, startTxnCoordinator, data } from "./txn-harness.test-support.ts"

const NONE = 0
const NOT_COORDINATOR = 16
const INVALID_PRODUCER_EPOCH = 47
const CONCURRENT_TRANSACTIONS = 51
const PRODUCER_FENCED = 90

const init = (c: CairnTxnCoordinator, id: string, timeoutMs = 60_000) =>
  c.handle("InitProducerId", { transactionalId: id, transactionTimeoutMs: timeoutMs, producerId: -1n, producerEpoch: -1 }, 4)
const add = (c: CairnTxnCoordinator, id: string, pid: bigint, epoch: number, partitions: ReadonlyArray<number>) =>
  Effect.map(
    c.handle("AddPartitionsToTxn", {
      transactions: [],
      v3AndBelowTransactionalId: id,
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: epoch,
      v3AndBelowTopics: [{ name: "t", partitions }]
    }, 3),
    (r) => r.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode))
  )
const end = (c: CairnTxnCoordinator, id: string, pid: bigint, epoch: number, committed: boolean) =>
  Effect.map(c.handle("EndTxn", { transactionalId: id, producerId: pid, producerEpoch: epoch, committed }, 3), (r) => r.errorCode)
const lso = (log: FakeLog, partition: number) => {
  const m = log.machine("t", partition)
  return m.txns.lastStableOffset(m.nextOffset)
}
const produce = (log: FakeLog, partition: number, pid: bigint, epoch: number, seq: number) => log.client.produce("t", partition, data(Number(pid), epoch, seq))

const run = <A>(body: Effect.Effect<A, unknown>) => Effect.runPromise(body as Effect.Effect<A>)

describe("the transaction coordinator", () => {
  it("commits one transaction and aborts the next: markers on every partition, the LSO follows, offsets only on commit", async () => {
    await run(Effect.gen(function*() {
      const log = fakeLog()
      const { c, close } = yield* startTxnCoordinator(localKv(), log, manualClock())
      const p = yield* init(c, "tx")
      expect(p).toMatchObject({ errorCode: NONE, producerId: 100n, producerEpoch: 0 })
      expect(yield* add(c, "tx", 100n, 0, [0, 1])).toEqual([NONE, NONE])
      yield* produce(log, 0, 100n, 0, 0)
      yield* produce(log, 1, 100n, 0, 0)
      expect([lso(log, 0), lso(log, 1)]).toEqual([0, 0])
      expect((yield* c.handle("AddOffsetsToTxn", { transactionalId: "tx", producerId: 100n, producerEpoch: 0, groupId: "g" }, 3)).errorCode).toBe(NONE)
      const commit = yield* c.handle("TxnOffsetCommit", {
        transactionalId: "tx", groupId: "g", producerId: 100n, producerEpoch: 0, generationId: -1, memberId: "", groupInstanceId: null,
        topics: [{ name: "in", partitions: [{ partitionIndex: 0, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: null }] }]
      }, 3)
      expect(commit.topics[0]!.partitions[0]!.errorCode).toBe(NONE)
      expect(log.offsets.size).toBe(0) // not visible before the commit
      expect(yield* end(c, "tx", 100n, 0, true)).toBe(NONE)
      expect([lso(log, 0), lso(log, 1)]).toEqual([2, 2])
      expect(log.offsets.get("g/in/0")).toBe(42)
      // The next transaction aborts: the partition indexes it, and no offsets move.
      expect(yield* add(c, "tx", 100n, 0, [0])).toEqual([NONE])
      yield* produce(log, 0, 100n, 0, 1)
      expect(lso(log, 0)).toBe(2)
      expect(yield* end(c, "tx", 100n, 0, false)).toBe(NONE)
      expect(lso(log, 0)).toBe(4)
      expect(log.machine("t", 0).txns.abortedIn(0, 4)).toEqual([{ producerId: 100, firstOffset: 2, lastOffset: 3 }])
      // A retried EndTxn is answered as the first was.
      expect(yield* end(c, "tx", 100n, 0, false)).toBe(NONE)
      expect(log.machine("t", 0).nextOffset).toBe(4)
      yield* close
    }))
  })

  it("a new InitProducerId fences the zombie: its open transaction is aborted at a newer epoch on the partitions", async () => {
    await run(Effect.gen(function*() {
      const log = fakeLog()
      const { c, close } = yield* startTxnCoordinator(localKv(), log, manualClock())
      yield* init(c, "tx")
      yield* add(c, "tx", 100n, 0, [0])
      yield* produce(log, 0, 100n, 0, 0)
      const second = yield* init(c, "tx")
      expect(second).toMatchObject({ errorCode: NONE, producerId: 100n, producerEpoch: 2 })
      expect(lso(log, 0)).toBe(2)
      expect(log.machine("t", 0).txns.abortedIn(0, 2)).toEqual([{ producerId: 100, firstOffset: 0, lastOffset: 1 }])
      // The zombie can neither write to the partition nor end a transaction.
      const zombie = yield* Effect.flip(produce(log, 0, 100n, 0, 1))
      expect(zombie).toMatchObject({ code: "fenced" })
      expect(yield* end(c, "tx", 100n, 0, true)).toBe(PRODUCER_FENCED)
      expect(yield* Effect.map(c.handle("EndTxn", { transactionalId: "tx", producerId: 100n, producerEpoch: 0, committed: true }, 1), (r) => r.errorCode)).toBe(INVALID_PRODUCER_EPOCH)
      // The new producer starts at sequence 0 on the partition.
      expect(yield* add(c, "tx", 100n, 2, [0])).toEqual([NONE])
      expect((yield* produce(log, 0, 100n, 2, 0)).baseOffset).toBe(2)
      yield* close
    }))
  })

  it("aborts a transaction that outlives its timeout, on the coordinator's clock", async () => {
    await run(Effect.gen(function*() {
      const log = fakeLog()
      const clock = manualClock()
      const { c, close } = yield* startTxnCoordinator(localKv(), log, clock)
      yield* init(c, "slow", 5_000)
      yield* add(c, "slow", 100n, 0, [0])
      yield* produce(log, 0, 100n, 0, 0)
      yield* clock.advance(4_000)
      expect(lso(log, 0)).toBe(0)
      yield* clock.advance(2_000)
      expect(lso(log, 0)).toBe(2)
      expect(log.machine("t", 0).txns.abortedIn(0, 2)).toHaveLength(1)
      // The producer was fenced by the abort.
      expect(yield* end(c, "slow", 100n, 0, true)).toBe(PRODUCER_FENCED)
      yield* close
    }))
  })

  it("a decision whose markers could not be written is finished by the next coordinator of the id", async () => {
    await run(Effect.gen(function*() {
      const log = fakeLog()
      const kv = localKv()
      const clock = manualClock()
      const first = yield* startTxnCoordinator(kv, log, clock)
      yield* init(first.c, "tx")
      yield* add(first.c, "tx", 100n, 0, [0, 1])
      yield* produce(log, 0, 100n, 0, 0)
      log.setDown(true)
      // The decision is durable, so the commit is answered; the markers wait.
      expect(yield* end(first.c, "tx", 100n, 0, true)).toBe(NONE)
      expect(lso(log, 0)).toBe(0)
      expect(yield* add(first.c, "tx", 100n, 0, [0])).toEqual([CONCURRENT_TRANSACTIONS])
      yield* first.close // the coordinator goes away before its timer retries
      log.setDown(false)
      const second = yield* startTxnCoordinator(kv, log, clock)
      yield* clock.advance(1_000)
      expect([lso(log, 0), lso(log, 1)]).toEqual([2, 1])
      expect(log.machine("t", 0).txns.abortedIn(0, 2)).toEqual([])
      expect(yield* add(second.c, "tx", 100n, 0, [0])).toEqual([NONE])
      yield* second.close
    }))
  })

  it("answers NOT_COORDINATOR on a node the id is not placed on, and FindCoordinator names the one it is", async () => {
    await run(Effect.gen(function*() {
      const log = fakeLog()
      const kv = localKv()
      const clock = manualClock()
      const nodes = ["n1", "n2", "n3"]
      const found = yield* Effect.flatMap(startTxnCoordinator(kv, log, clock, "n1", nodes), ({ c, close }) =>
        Effect.tap(c.handle("FindCoordinator", { key: "", keyType: 1, coordinatorKeys: ["tx"] }, 4), () => close))
      const coordinator = found.coordinators[0]!
      expect(coordinator.errorCode).toBe(NONE)
      const owner = nodes[coordinator.nodeId - 1]!
      for (const self of nodes) {
        const { c, close } = yield* startTxnCoordinator(kv, log, clock, self, nodes)
        expect((yield* init(c, "tx")).errorCode).toBe(self === owner ? NONE : NOT_COORDINATOR)
        yield* close
      }
    }))
  })
})
