/**
 * Consumer groups over the log API (`GET /v1/log/groups`, `GET
 * /v1/log/groups/{group}`): what a storage operator asks of Kafka's
 * `kafka-consumer-groups --describe` — each group's state, assignor,
 * generation and members with their partitions, and per partition the
 * committed offset, the high watermark and the lag.
 *
 * Everything is read from where the log keeps it: the coordinators' group
 * records (`\0lg/<group>`, written at each completed rebalance, so members
 * are those of the last stored generation, not live heartbeats) and the
 * committed offsets (`\0lo/…`), both linearizable KV reads; high watermarks
 * from each partition's leader through the node's log client. A partition
 * that does not answer (or whose topic was deleted) keeps its offset and
 * says why its lag is missing, rather than failing the whole answer.
 *
 * `deleteGroup` removes an Empty group (`DELETE /v1/log/groups/{group}`,
 * the admin's key): its record first, by a compare-and-set on the revision
 * read as Empty — a coordinator holding the group then finds its next
 * write refused and drops its copy (`group-store.ts`), as when another
 * node wrote the group — then its offsets. A deletion cut short leaves
 * offsets without a record: a group known by offsets only, deleted again
 * the same way.
 */
import { Effect } from "effect"
import { InvariantViolation } from "../invariant/invariant.ts"
import { MAX_RANGE_LIMIT } from "../kv/command.ts"
import { decodeConsumerAssignment } from "../kafka/group/consumer-assignment.ts"
import { decodeGroupRecord, GroupRecordDecodeError, type GroupRecord } from "../kafka/group/group-record.ts"
import { GROUP_PREFIX, groupKey } from "../kafka/group/group-store.ts"
import type { LogClient } from "../log/client/log-client.ts"
import { OFFSET_PREFIX, OFFSET_RANGE_END, parseStoredOffsetKey } from "../log/service/consumer-offsets.ts"
import type { RequestContext } from "./context.ts"
import { ConflictError, type KvApiError, NotFoundError } from "./errors.ts"
import { read, write } from "./kv-calls.ts"
import type { GroupMemberView, GroupPartitionView, GroupView } from "./log-views.ts"

interface Committed {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly metadata: string
}

/** A partition's end as its leader reported it, or why it could not. */
type End = { readonly highWatermark: number } | { readonly error: string }

/** How many partitions' ends are asked at once. */
const END_READS_AT_ONCE = 8
const decoder = new TextDecoder()

/** Every item of a key range, page by page (linearizable: a commit that returned is seen). */
const readRange = (ctx: RequestContext, start: string, end: string) =>
  Effect.gen(function*() {
    const items: Array<{ readonly key: string; readonly value: Uint8Array }> = []
    let from = start
    for (;;) {
      const page = yield* read(ctx, { op: "range", start: from, end, limit: MAX_RANGE_LIMIT }, "linearizable")
      if (page.type !== "range") return yield* Effect.die(new InvariantViolation(`a range answered ${page.type}`))
      items.push(...page.items)
      if (!page.more || page.items.length === 0) return items
      from = `${page.items[page.items.length - 1]!.key}\u0000`
    }
  })

const groupRecords = (ctx: RequestContext, only: string | undefined) =>
  Effect.gen(function*() {
    const start = only === undefined ? GROUP_PREFIX : `${GROUP_PREFIX}${only}`
    const end = only === undefined ? "\u0000lg0" : `${GROUP_PREFIX}${only}\u0000`
    const records = new Map<string, GroupRecord>()
    for (const item of yield* readRange(ctx, start, end)) {
      const group = item.key.slice(GROUP_PREFIX.length)
      try {
        records.set(group, decodeGroupRecord(item.value))
      } catch (e) {
        // Raft checksums the KV's entries: a record that does not decode was written wrong.
        if (e instanceof GroupRecordDecodeError) return yield* Effect.die(new InvariantViolation(`group ${group}: ${e.message}`))
        throw e
      }
    }
    return records
  })

const committedOffsets = (ctx: RequestContext, only: string | undefined) =>
  Effect.gen(function*() {
    const start = only === undefined ? OFFSET_PREFIX : `${OFFSET_PREFIX}${only}\u0000`
    const end = only === undefined ? OFFSET_RANGE_END : `${OFFSET_PREFIX}${only}\u0001`
    const byGroup = new Map<string, Array<Committed>>()
    for (const item of yield* readRange(ctx, start, end)) {
      const where = parseStoredOffsetKey(item.key)
      if (where === undefined || (only !== undefined && where.group !== only)) continue
      const stored = JSON.parse(decoder.decode(item.value)) as { readonly offset?: unknown; readonly metadata?: unknown }
      if (typeof stored.offset !== "number") return yield* Effect.die(new InvariantViolation(`offset record ${JSON.stringify(item.key)} has no offset`))
      const list = byGroup.get(where.group) ?? []
      list.push({ topic: where.topic, partition: where.partition, offset: stored.offset, metadata: typeof stored.metadata === "string" ? stored.metadata : "" })
      byGroup.set(where.group, list)
    }
    return byGroup
  })

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`

/** The high watermark of each partition, asked of its leader: a one-byte read at `from` (its answer carries the bounds). */
const partitionEnds = (log: LogClient, wanted: ReadonlyMap<string, { readonly topic: string; readonly partition: number; readonly from: number }>) => {
  // Named apart: core's purity check reads any `fetch(` call as the global fetch.
  const { fetch: readPartition } = log
  return Effect.map(
    Effect.forEach([...wanted], ([key, w]) =>
      readPartition(w.topic, w.partition, w.from, 1).pipe(
        Effect.map((f): End => ({ highWatermark: f.highWatermark })),
        Effect.catch((e): Effect.Effect<End> => {
          // An offset outside the log still tells where the log ends.
          if (e._tag === "LogRequestError" && e.code === "offset-out-of-range" && e.bounds !== undefined) return Effect.succeed({ highWatermark: e.bounds.highWatermark })
          return Effect.succeed({ error: e._tag === "LogRequestError" ? `${e.code}: ${e.message}` : e.message })
        }),
        Effect.map((end) => [key, end] as const)
      ), { concurrency: END_READS_AT_ONCE }),
    (pairs) => new Map(pairs)
  )
}

const membersOf = (record: GroupRecord | undefined): ReadonlyArray<GroupMemberView> =>
  (record?.members ?? []).map((m) => ({
    memberId: m.memberId,
    instanceId: m.instanceId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    assignment: record?.protocolType === "consumer" ? (decodeConsumerAssignment(m.assignment) ?? null) : null
  }))

/** Which partitions a group has an offset for or a member on (restricted to `topic` when given), with their owners. */
const partitionsOf = (members: ReadonlyArray<GroupMemberView>, offsets: ReadonlyArray<Committed>, topic: string | undefined) => {
  const rows = new Map<string, { topic: string; partition: number; committed: Committed | undefined; memberId: string | null }>()
  for (const o of offsets) rows.set(partitionKey(o.topic, o.partition), { topic: o.topic, partition: o.partition, committed: o, memberId: null })
  for (const m of members) {
    for (const a of m.assignment ?? []) {
      for (const p of a.partitions) {
        const key = partitionKey(a.topic, p)
        rows.set(key, { ...(rows.get(key) ?? { topic: a.topic, partition: p, committed: undefined }), memberId: m.memberId })
      }
    }
  }
  return [...rows.values()]
    .filter((r) => topic === undefined || r.topic === topic)
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition))
}

type Row = ReturnType<typeof partitionsOf>[number]

const viewOf = (group: string, record: GroupRecord | undefined, members: ReadonlyArray<GroupMemberView>, rows: ReadonlyArray<Row>, ends: ReadonlyMap<string, End>): GroupView => {
  const partitions: Array<GroupPartitionView> = rows.map((r) => {
    const end = ends.get(partitionKey(r.topic, r.partition))
    const highWatermark = end !== undefined && "highWatermark" in end ? end.highWatermark : null
    const offset = r.committed?.offset ?? null
    return {
      topic: r.topic,
      partition: r.partition,
      offset,
      metadata: r.committed?.metadata ?? "",
      highWatermark,
      lag: offset === null || highWatermark === null ? null : Math.max(0, highWatermark - offset),
      memberId: r.memberId,
      ...(end !== undefined && "error" in end ? { error: end.error } : {})
    }
  })
  return {
    group,
    state: record?.state ?? "Empty",
    protocolType: record?.protocolType ?? null,
    protocol: record?.protocolName ?? null,
    generation: record?.generation ?? 0,
    leader: record?.leader ?? null,
    members,
    partitions,
    totalLag: partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0)
  }
}

/**
 * The groups (one when `only` names it; those reading `topic` when given), each with its partitions'
 * offsets, ends and lags. Groups come in name order.
 */
export const groupViews = (ctx: RequestContext, log: LogClient, only: string | undefined, topic: string | undefined): Effect.Effect<ReadonlyArray<GroupView>, KvApiError> =>
  Effect.gen(function*() {
    const records = yield* groupRecords(ctx, only)
    const offsets = yield* committedOffsets(ctx, only)
    const names = [...new Set([...records.keys(), ...offsets.keys()])].sort()
    const found = names.map((group) => {
      const record = records.get(group)
      const members = membersOf(record)
      return { group, record, members, rows: partitionsOf(members, offsets.get(group) ?? [], topic) }
    }).filter((g) => topic === undefined || g.rows.length > 0)
    const wanted = new Map<string, { topic: string; partition: number; from: number }>()
    for (const g of found) for (const r of g.rows) wanted.set(partitionKey(r.topic, r.partition), { topic: r.topic, partition: r.partition, from: r.committed?.offset ?? 0 })
    const ends = yield* partitionEnds(log, wanted)
    return found.map((g) => viewOf(g.group, g.record, g.members, g.rows, ends))
  })

/** Deletes an Empty group's record and its committed offsets; the number of offsets removed. */
export const deleteGroup = (ctx: RequestContext, group: string): Effect.Effect<number, KvApiError> =>
  Effect.gen(function*() {
    const stored = yield* read(ctx, { op: "get", key: groupKey(group) }, "linearizable")
    if (stored.type !== "get") return yield* Effect.die(new InvariantViolation(`a get answered ${stored.type}`))
    const offsets = (yield* readRange(ctx, `${OFFSET_PREFIX}${group}\u0000`, `${OFFSET_PREFIX}${group}\u0001`)).filter((item) => parseStoredOffsetKey(item.key)?.group === group)
    if (!stored.found && offsets.length === 0) return yield* new NotFoundError({ code: "unknown-group", message: `no consumer group ${JSON.stringify(group)}: it has no stored members and no committed offsets` })
    if (stored.found) {
      const record = (yield* groupRecords(ctx, group)).get(group)
      if (record !== undefined && (record.state !== "Empty" || record.members.length > 0)) {
        return yield* new ConflictError({ code: "non-empty-group", message: `${group} is ${record.state} with ${record.members.length} member(s): stop its consumers and wait for their sessions to end, then delete it (Kafka refuses the same, NON_EMPTY_GROUP)` })
      }
      const removed = yield* write(ctx, { op: "cas", key: groupKey(group), expected: stored.revision, value: undefined })
      if (removed.type !== "cas") return yield* Effect.die(new InvariantViolation(`a cas answered ${removed.type}`))
      if (!removed.ok) return yield* new ConflictError({ code: "group-changed", message: `${group} changed while it was being deleted (a consumer joined): look at it again` })
    }
    for (const item of offsets) yield* write(ctx, { op: "delete", key: item.key })
    return offsets.length
  })
