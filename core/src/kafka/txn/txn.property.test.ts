import { Effect, Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { manualClock } from "../../clock/manual-clock.test-support.ts"
import { localKv } from "../../kv/state-machine-kv.test-support.ts"
import { isControl } from "../../log/control-batch.ts"
import { ATTR_TRANSACTIONAL, decodeBatch, encodeBatch } from "../../log/record-batch.ts"
import type { CairnTxnCoordinator } from "./txn-coordinator.ts"
import { fakeLog, type FakeLog, startTxnCoordinator } from "./txn-harness.test-support.ts"

/** One transactional producer's view, as a client keeps it. Two share one transactional id: each can fence the other. */
interface Client {
  producerId: bigint | undefined
  epoch: number
  /** Counts this client's transactions: a record is tagged with client and transaction. */
  txn: number
  open: boolean
  readonly added: Set<number>
  /** The next sequence per partition: it runs on over transactions of one epoch. */
  readonly seq: Map<number, number>
  /** The tags of the records the open transaction appended. */
  readonly produced: Array<string>
  /** Told its epoch is fenced (or its transaction unknown): a real application starts a new producer. */
  fenced: boolean
}

type Step = "init" | "produce0" | "produce1" | "add0" | "add1" | "commit" | "abort"

/** "act": the client's next step as a transactional producer takes it (`n` picks among its choices); the others break the routine. */
type Action =
  | { readonly kind: Step; readonly c: number }
  | { readonly kind: "act"; readonly c: number; readonly n: number }
  | { readonly kind: "advance"; readonly ms: number }

/** What a producer does next: init when it has no id, add a partition when nothing is open, else mostly produce, then end. */
const routine = (c: Client, n: number): Step => {
  if (c.producerId === undefined || c.fenced) return "init"
  if (!c.open) return n % 2 === 0 ? "add0" : "add1"
  if (n < 4) return n % 2 === 0 ? "produce0" : "produce1"
  if (n < 6) return n % 2 === 0 ? "add0" : "add1"
  return n < 8 ? "commit" : "abort"
}

const action: fc.Arbitrary<Action> = fc.oneof(
  // Mostly the first producer: the second is the zombie's successor, and each of its inits fences the first.
  { weight: 12, arbitrary: fc.record({ kind: fc.constant("act" as const), c: fc.integer({ min: 0, max: 9 }).map((n) => (n < 8 ? 0 : 1)), n: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("init" as const), c: fc.nat(1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom("add0" as const, "add1" as const), c: fc.nat(1) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom("produce0" as const, "produce1" as const), c: fc.nat(1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom("commit" as const, "abort" as const), c: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 6_000 }) }) }
)

const TIMEOUT_MS = 5_000
/** PRODUCER_FENCED, INVALID_PRODUCER_EPOCH, INVALID_PRODUCER_ID_MAPPING. */
const FENCED = new Set([90, 47, 49])
const text = new TextEncoder()
const untext = new TextDecoder()

const batchOf = (c: Client, tag: string, partition: number) =>
  encodeBatch({
    attributes: ATTR_TRANSACTIONAL,
    baseTimestamp: 1,
    producerId: Number(c.producerId),
    producerEpoch: c.epoch,
    baseSequence: c.seq.get(partition) ?? 0,
    records: [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: text.encode(tag), headers: [] }]
  })

/** What a read_committed consumer of a partition gets, as Kafka's clients filter: below the LSO, aborted ranges dropped. */
const readCommitted = (log: FakeLog, partition: number): ReadonlyArray<string> => {
  const m = log.machine("t", partition)
  const lso = m.txns.lastStableOffset(m.nextOffset)
  const aborted = m.txns.abortedIn(0, m.nextOffset)
  return log.stored("t", partition).flatMap((bytes) => {
    const { header, records } = Result.getOrThrow(decodeBatch(bytes))
    if (header.baseOffset >= lso || isControl(header.attributes)) return []
    if (aborted.some((a) => a.producerId === header.producerId && a.firstOffset <= header.baseOffset && header.baseOffset <= a.lastOffset)) return []
    return records.map((r) => untext.decode(r.value!))
  })
}

/** Over every run: how many records were appended and how many were read committed (the property must not hold vacuously). */
const stats = { produced: 0, visible: 0 }

const step = (co: CairnTxnCoordinator, log: FakeLog, clients: ReadonlyArray<Client>, committed: Set<string>, action: Action, advance: (ms: number) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    if (action.kind === "advance") return yield* advance(action.ms)
    const c = clients[action.c]!
    const a = action.kind === "act" ? { kind: routine(c, action.n), c: action.c } : action
    const tag = (partition: number) => `${a.c}/${c.txn}/${partition}/${c.seq.get(partition) ?? 0}`
    const endTxn = () => {
      c.open = false
      c.added.clear()
      c.produced.length = 0
      c.txn += 1
    }
    if (a.kind === "init") {
      const r = yield* co.handle("InitProducerId", { transactionalId: "tx", transactionTimeoutMs: TIMEOUT_MS, producerId: -1n, producerEpoch: -1 }, 4)
      if (r.errorCode !== 0) return
      Object.assign(c, { producerId: r.producerId, epoch: r.producerEpoch, fenced: false })
      endTxn()
      c.seq.clear() // a new epoch starts at sequence 0
      return
    }
    if (c.producerId === undefined) return
    if (a.kind === "add0" || a.kind === "add1") {
      const partition = a.kind === "add0" ? 0 : 1
      const r = yield* co.handle("AddPartitionsToTxn", {
        transactions: [], v3AndBelowTransactionalId: "tx", v3AndBelowProducerId: c.producerId, v3AndBelowProducerEpoch: c.epoch, v3AndBelowTopics: [{ name: "t", partitions: [partition] }]
      }, 3)
      const code = r.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode
      c.fenced = FENCED.has(code)
      if (code !== 0) return
      c.open = true
      c.added.add(partition)
      return
    }
    if (a.kind === "produce0" || a.kind === "produce1") {
      const partition = a.kind === "produce0" ? 0 : 1
      if (!c.open || !c.added.has(partition)) return // a client writes only where it added the partition
      const t = tag(partition)
      const sent = yield* Effect.result(log.client.produce("t", partition, batchOf(c, t, partition)))
      if (sent._tag === "Failure") return void (c.fenced = sent.failure._tag === "LogRequestError" && sent.failure.code === "fenced")
      c.seq.set(partition, (c.seq.get(partition) ?? 0) + 1)
      c.produced.push(t)
      stats.produced++
      return
    }
    if (!c.open) return
    const r = yield* co.handle("EndTxn", { transactionalId: "tx", producerId: c.producerId, producerEpoch: c.epoch, committed: a.kind === "commit" }, 3)
    // Committed iff EndTxn(commit) was answered without an error.
    if (r.errorCode === 0 && a.kind === "commit") for (const t of c.produced) committed.add(t)
    c.fenced = FENCED.has(r.errorCode)
    endTxn()
  })

describe("transactions against real partition state machines", () => {
  it("read_committed shows exactly the records of transactions whose commit was acknowledged; every partition's LSO comes back to its end", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 10, maxLength: 60, size: "max" }), async (actions) => {
        const outcome = await Effect.runPromise(Effect.gen(function*() {
          const log = fakeLog()
          const clock = manualClock()
          const { c: co, close } = yield* startTxnCoordinator(localKv(), log, clock)
          const clients: Array<Client> = [0, 1].map(() => ({ producerId: undefined, epoch: -1, txn: 0, open: false, added: new Set<number>(), seq: new Map<number, number>(), produced: [], fenced: false }))
          const committed = new Set<string>()
          for (const a of actions) yield* step(co, log, clients, committed, a, clock.advance)
          // Whatever is left open is aborted: by a new producer of the id, then by the timer for what it could not reach.
          yield* co.handle("InitProducerId", { transactionalId: "tx", transactionTimeoutMs: TIMEOUT_MS, producerId: -1n, producerEpoch: -1 }, 4)
          yield* clock.advance(2_000)
          yield* close
          const ends = [0, 1].map((p) => {
            const m = log.machine("t", p)
            return m.txns.lastStableOffset(m.nextOffset) === m.nextOffset
          })
          const visible = [0, 1].flatMap((p) => readCommitted(log, p))
          return { ends, visible: [...visible].sort(), committed: [...committed].sort() }
        }))
        expect(outcome.ends).toEqual([true, true])
        expect(outcome.visible).toEqual(outcome.committed)
        stats.visible += outcome.visible.length
      }),
      { numRuns: 150 }
    )
    // Some records were committed and some were not.
    expect(stats.visible).toBeGreaterThan(30)
    expect(stats.produced).toBeGreaterThan(stats.visible)
  })
})
