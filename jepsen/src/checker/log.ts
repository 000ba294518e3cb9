/**
 * A checker for partitioned logs, in the spirit of Jepsen's Kafka/queue
 * workload. Producers send records whose values are unique; consumers poll
 * partitions by offset; a final read takes every partition whole. Checked:
 *
 * - **lost**: an acknowledged send is in the final read, at the offset its
 *   acknowledgement gave (unless retention removed that offset, or the
 *   acknowledgement came after the final read began: a send still in flight
 *   then may commit after the read saw the end of the log);
 * - **inconsistent offsets**: the same offset of a partition never holds
 *   two different values across all reads (Jepsen's Redpanda finding);
 * - **vanished reads**: every record a poll returned is still in the final
 *   read (unless retention removed its offset): a read never returns a
 *   record that can later disappear (an uncommitted one, served above the
 *   high watermark, whose proposal a leader change then dropped);
 * - **gaps and order**: every poll returns consecutive offsets starting at
 *   the offset asked for (or at the log start, when that is later);
 * - **duplicates**: no value appears at two offsets (producers here never
 *   retry a send whose outcome is unknown unless it is idempotent, so any
 *   copy is a bug; copies of idempotent sends are reported apart);
 * - **unexpected**: no value appears that was never sent, or whose send was
 *   refused for certain (`fail`);
 * - **producer order**: one producer's acknowledged sends to one partition
 *   have increasing offsets, in the order it sent them.
 *
 * Pure; depends on nothing.
 */

export interface LogSend {
  readonly producer: string
  readonly idempotent: boolean
  readonly partition: string
  readonly value: number
  /** ok: acknowledged at `offset`; fail: certainly not appended; info: unknown. */
  readonly outcome: "ok" | "fail" | "info"
  readonly offset?: number
  /** When the outcome arrived (any clock shared with `LogPoll.startedAt`). */
  readonly completedAt?: number
}

export interface LogPoll {
  readonly partition: string
  readonly from: number
  /** (offset, value) in the order returned. */
  readonly records: ReadonlyArray<readonly [number, number]>
  readonly logStartOffset: number
  /** When the read began (for the final read: acknowledgements after it are not required in it). */
  readonly startedAt?: number
}

export interface LogHistory {
  /** In the order each producer sent them (per producer). */
  readonly sends: ReadonlyArray<LogSend>
  readonly polls: ReadonlyArray<LogPoll>
  /** Each partition read whole from its log start after the faults healed. */
  readonly final: ReadonlyMap<string, LogPoll>
}

export interface LogCheckResult {
  readonly verdict: "valid" | "invalid"
  readonly acknowledged: number
  readonly lost: ReadonlyArray<string>
  readonly inconsistent: ReadonlyArray<string>
  /** Polled records past the end of the final read of their partition. */
  readonly vanished: ReadonlyArray<string>
  readonly gaps: ReadonlyArray<string>
  readonly duplicated: ReadonlyArray<string>
  readonly idempotentDuplicates: ReadonlyArray<string>
  readonly unexpected: ReadonlyArray<string>
  readonly reordered: ReadonlyArray<string>
  /** Sends with unknown outcome found in the final read. */
  readonly recovered: number
  /** Acknowledged sends not checked for loss: acknowledged after their partition's final read began. */
  readonly late: number
  /**
   * Partitions with acknowledged sends but no final read (it never completed): their sends are not
   * checked for loss, since nothing says what the partition holds. The workload reports such a read.
   */
  readonly unread: ReadonlyArray<string>
}

/** Offsets that hold two values, and polls with holes or out of order. */
const checkPolls = (polls: ReadonlyArray<LogPoll>) => {
  const at = new Map<string, number>()
  const inconsistent: Array<string> = []
  const gaps: Array<string> = []
  for (const poll of polls) {
    let expected = Math.max(poll.from, poll.logStartOffset)
    for (const [offset, value] of poll.records) {
      if (offset !== expected) gaps.push(`${poll.partition}: poll from ${poll.from} returned offset ${offset} where ${expected} was due`)
      expected = offset + 1
      const key = `${poll.partition}@${offset}`
      const seen = at.get(key)
      if (seen === undefined) at.set(key, value)
      else if (seen !== value) inconsistent.push(`${key} held ${seen} and ${value}`)
    }
  }
  return { inconsistent: [...new Set(inconsistent)], gaps }
}

/** Acknowledged sends missing or misplaced, and one producer's sends out of order. */
const checkSends = (sends: ReadonlyArray<LogSend>, final: ReadonlyMap<string, LogPoll>) => {
  const lost: Array<string> = []
  const reordered: Array<string> = []
  const lastOffset = new Map<string, number>()
  const unread = new Set<string>()
  let late = 0
  for (const s of sends) {
    if (s.outcome !== "ok" || s.offset === undefined) continue
    const read = final.get(s.partition)
    if (read === undefined) unread.add(s.partition)
    const afterRead = read?.startedAt !== undefined && s.completedAt !== undefined && s.completedAt > read.startedAt
    if (afterRead) late++
    const retained = read !== undefined && !afterRead && s.offset >= read.logStartOffset
    const found = read?.records.find(([o]) => o === s.offset)
    if (retained && (found === undefined || found[1] !== s.value)) {
      lost.push(`${s.partition}: ${s.value} acknowledged at ${s.offset}, final read has ${found === undefined ? "nothing" : found[1]} there`)
    }
    const key = `${s.producer}/${s.partition}`
    const last = lastOffset.get(key)
    if (last !== undefined && s.offset <= last) reordered.push(`${key}: ${s.value} at ${s.offset} after an earlier send at ${last}`)
    lastOffset.set(key, s.offset)
  }
  return { lost, reordered, late, unread: [...unread] }
}

/**
 * Polled records beyond the end of the final read: read once, gone later. (A polled offset the final
 * read holds with another value is an inconsistent offset, reported above.)
 */
const checkVanished = (polls: ReadonlyArray<LogPoll>, final: ReadonlyMap<string, LogPoll>): Array<string> => {
  const vanished: Array<string> = []
  for (const poll of polls) {
    const read = final.get(poll.partition)
    if (read === undefined) continue
    const end = read.records.length === 0 ? Math.max(read.from, read.logStartOffset) : read.records[read.records.length - 1]![0] + 1
    for (const [offset, value] of poll.records) {
      if (offset >= end && offset >= read.logStartOffset) vanished.push(`${poll.partition}@${offset}: ${value} was read, the final read ends at ${end}`)
    }
  }
  return vanished
}

export const checkLog = (history: LogHistory): LogCheckResult => {
  const finals = [...history.final.values()]
  const { inconsistent, gaps } = checkPolls([...history.polls, ...finals])
  const { lost, reordered, late, unread } = checkSends(history.sends, history.final)
  const vanished = checkVanished(history.polls, history.final)
  const byValue = new Map<number, LogSend>()
  for (const s of history.sends) byValue.set(s.value, s)
  const count = new Map<number, number>()
  for (const poll of finals) for (const [, v] of poll.records) count.set(v, (count.get(v) ?? 0) + 1)
  const duplicated: Array<string> = []
  const idempotentDuplicates: Array<string> = []
  const unexpected: Array<string> = []
  let recovered = 0
  for (const [v, n] of count) {
    const send = byValue.get(v)
    if (send === undefined || send.outcome === "fail") unexpected.push(`${v}${send === undefined ? " was never sent" : " was refused, yet appended"}`)
    if (send?.outcome === "info") recovered++
    if (n > 1) (send?.idempotent === true ? idempotentDuplicates : duplicated).push(`${v} appears ${n} times`)
  }
  for (const poll of history.polls) {
    for (const [o, v] of poll.records) if (!byValue.has(v)) unexpected.push(`${poll.partition}@${o}: ${v} was never sent`)
  }
  const problems = lost.length + inconsistent.length + vanished.length + gaps.length + duplicated.length + idempotentDuplicates.length + unexpected.length + reordered.length
  return {
    verdict: problems === 0 ? "valid" : "invalid",
    acknowledged: history.sends.filter((s) => s.outcome === "ok").length,
    lost,
    inconsistent,
    vanished,
    gaps,
    duplicated,
    idempotentDuplicates,
    unexpected: [...new Set(unexpected)],
    reordered,
    recovered,
    late,
    unread
  }
}
