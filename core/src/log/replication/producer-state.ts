/**
 * Idempotent producers, the rules of one partition (Kafka's, KIP-98): a
 * producer id and epoch, and per partition a sequence number for every
 * record. The table is part of the partition's replicated state machine:
 * every replica applies the same committed batches in the same order and so
 * reaches the same decisions, and a leader change or restart (which re-applies
 * the Raft log) cannot forget a sequence.
 *
 * For a batch of producer `pid`, epoch `e`, sequences first..last:
 * - an older epoch than the partition has seen is **fenced**;
 * - a newer epoch starts over and must begin at sequence 0;
 * - in the same epoch, a batch equal to one of the last `WINDOW` batches is a
 *   **duplicate** (answered with the offsets it got the first time); the next
 *   batch must start right after the last one; anything else is **out of order**.
 * Sequences wrap at 2^31, as Kafka's do.
 */
import { assert } from "../../invariant/invariant.ts"

/** Batches remembered per producer and partition (Kafka's max.in.flight.requests for idempotence). */
export const PRODUCER_WINDOW = 5
const SEQUENCE_SPAN = 2 ** 31

export interface ProducerBatch {
  readonly firstSeq: number
  readonly lastSeq: number
  readonly baseOffset: number
  readonly lastOffset: number
}

export interface ProducerEntry {
  readonly epoch: number
  /** Oldest first; at most PRODUCER_WINDOW. */
  readonly batches: ReadonlyArray<ProducerBatch>
}

export type ProducerCheck =
  | { readonly kind: "append" }
  | { readonly kind: "duplicate"; readonly baseOffset: number; readonly lastOffset: number }
  | { readonly kind: "fenced"; readonly currentEpoch: number }
  | { readonly kind: "out-of-order"; readonly expected: number }

/** The sequence after `seq`. */
export const nextSequence = (seq: number): number => (seq + 1) % SEQUENCE_SPAN

/** The last sequence of a batch of `count` offsets starting at `first`. */
export const lastSequence = (first: number, count: number): number => (first + count - 1) % SEQUENCE_SPAN

export class ProducerTable {
  private readonly entries = new Map<number, ProducerEntry>()

  get size(): number {
    return this.entries.size
  }

  entry(pid: number): ProducerEntry | undefined {
    return this.entries.get(pid)
  }

  /** Every producer's entry, for a partition snapshot. */
  all(): ReadonlyArray<readonly [number, ProducerEntry]> {
    return [...this.entries]
  }

  /** Replaces the table with a snapshot's entries. */
  replaceAll(entries: ReadonlyArray<readonly [number, ProducerEntry]>): void {
    this.entries.clear()
    for (const [pid, entry] of entries) {
      assert(entry.batches.length <= PRODUCER_WINDOW, () => `producer ${pid}: ${entry.batches.length} batches in a snapshot`)
      this.entries.set(pid, entry)
    }
  }

  /** What a batch of `pid` at `epoch` with sequences first..last would be. Pure: changes nothing. */
  check(pid: number, epoch: number, firstSeq: number, lastSeq: number): ProducerCheck {
    const entry = this.entries.get(pid)
    if (entry === undefined) return firstSeq === 0 ? { kind: "append" } : { kind: "out-of-order", expected: 0 }
    if (epoch < entry.epoch) return { kind: "fenced", currentEpoch: entry.epoch }
    if (epoch > entry.epoch) return firstSeq === 0 ? { kind: "append" } : { kind: "out-of-order", expected: 0 }
    const same = entry.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq)
    if (same !== undefined) return { kind: "duplicate", baseOffset: same.baseOffset, lastOffset: same.lastOffset }
    const last = entry.batches[entry.batches.length - 1]
    const expected = last === undefined ? 0 : nextSequence(last.lastSeq)
    return firstSeq === expected ? { kind: "append" } : { kind: "out-of-order", expected }
  }

  /**
   * A transaction marker of `pid` at `epoch` (never older than the table's: the caller checked). A newer
   * epoch (the coordinator fenced the previous holder) starts the producer over: its next batch is sequence 0.
   */
  markerEpoch(pid: number, epoch: number): void {
    const entry = this.entries.get(pid)
    assert(entry === undefined || epoch >= entry.epoch, () => `producer ${pid}: marker epoch ${epoch} below ${entry?.epoch}`)
    if (entry === undefined || epoch > entry.epoch) this.entries.set(pid, { epoch, batches: [] })
  }

  /** Records an appended batch; `check` must have answered "append" for it. */
  record(pid: number, epoch: number, batch: ProducerBatch): void {
    const entry = this.entries.get(pid)
    assert(entry === undefined || epoch >= entry.epoch, () => `producer ${pid}: recording epoch ${epoch} below ${entry?.epoch}`)
    const kept = entry === undefined || epoch > entry.epoch ? [] : entry.batches.slice(-(PRODUCER_WINDOW - 1))
    this.entries.set(pid, { epoch, batches: [...kept, batch] })
  }
}
