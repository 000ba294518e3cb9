/**
 * A partition's transactions (KIP-98), part of its replicated state
 * machine: which producers have a transaction open here and from which
 * offset, and the aborted transactions' offset ranges. From them follow
 * the **last stable offset** (the first offset of the oldest open
 * transaction, or the high watermark when none is open: a read_committed
 * consumer reads below it only) and the aborted list a Fetch carries, from
 * which the consumer drops aborted records itself.
 *
 * A transactional data batch opens its producer's transaction if none is
 * open; a marker (`log/control-batch.ts`) closes it, and an ABORT marker
 * records [first offset, marker offset] as aborted. A marker for a producer
 * with nothing open here closes nothing (a retried marker, or a partition
 * added to a transaction that never wrote to it).
 *
 * The aborted list is kept whole (retention does not trim it yet): it grows
 * by one entry per aborted transaction that wrote to the partition.
 */
import { assert } from "../../invariant/invariant.ts"

export interface AbortedTxn {
  readonly producerId: number
  readonly firstOffset: number
  /** The offset of the ABORT marker. */
  readonly lastOffset: number
}

export interface TxnsState {
  /** Producer id and the first offset of its open transaction. */
  readonly open: ReadonlyArray<readonly [number, number]>
  /** Oldest first. */
  readonly aborted: ReadonlyArray<AbortedTxn>
}

export const NO_TXNS: TxnsState = { open: [], aborted: [] }

export class PartitionTxns {
  private readonly open = new Map<number, number>()
  private aborted: Array<AbortedTxn> = []

  state(): TxnsState {
    return { open: [...this.open], aborted: [...this.aborted] }
  }

  restore(state: TxnsState): void {
    this.open.clear()
    for (const [pid, first] of state.open) this.open.set(pid, first)
    this.aborted = [...state.aborted]
  }

  /** A transactional data batch of `pid` was appended at `baseOffset`. */
  onData(pid: number, baseOffset: number): void {
    if (!this.open.has(pid)) this.open.set(pid, baseOffset)
  }

  /** A marker of `pid` was appended at `markerOffset`. */
  onMarker(pid: number, commit: boolean, markerOffset: number): void {
    const first = this.open.get(pid)
    if (first === undefined) return
    assert(first < markerOffset, () => `producer ${pid}: transaction from ${first} ends at ${markerOffset}`)
    this.open.delete(pid)
    if (!commit) this.aborted.push({ producerId: pid, firstOffset: first, lastOffset: markerOffset })
  }

  /** The first offset of the oldest open transaction, or `highWatermark`. */
  lastStableOffset(highWatermark: number): number {
    let lso = highWatermark
    for (const first of this.open.values()) lso = Math.min(lso, first)
    return lso
  }

  /** Aborted transactions that overlap offsets [from, to). */
  abortedIn(from: number, to: number): ReadonlyArray<AbortedTxn> {
    return this.aborted.filter((a) => a.lastOffset >= from && a.firstOffset < to)
  }
}
