/**
 * OffsetCommit and OffsetFetch on the wire, over the consumer offsets the
 * log keeps in the Raft KV (`log/service/consumer-offsets.ts`). A commit is
 * fenced by the group's generation (`offset-commit-check.ts`) and written
 * under the group's lock, so no rebalance completes between the check and
 * the write. Each coordinator instance commits as its own committer with a
 * growing sequence number, so a late copy of one of its own writes never
 * overwrites a newer commit. Before writing, the coordinator checks that
 * the group's record in the KV is still the revision it holds: if another
 * node has rebalanced the group since (two nodes that briefly both think
 * they coordinate it), its copy is stale, so it drops the group and
 * answers NOT_COORDINATOR instead of judging the commit by an old
 * generation. OffsetFetch reads linearizably; it needs no
 * group state (offsets committed in a transaction reach the group's
 * offsets only once it commits, so none is ever pending and
 * `requireStable` has nothing to wait for).
 */
import { Effect, Result } from "effect"
import type { makeConsumerOffsets } from "../../log/service/consumer-offsets.ts"
import type { GroupRequestContext } from "../broker/group-port.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import {
  COORDINATOR_NOT_AVAILABLE,
  INVALID_GROUP_ID,
  INVALID_REQUEST,
  NONE,
  NOT_COORDINATOR,
  OFFSET_METADATA_TOO_LARGE,
  UNKNOWN_TOPIC_OR_PARTITION,
  type ErrorCode
} from "./error-codes.ts"
import { newGroup } from "./group.ts"
import { validGroupId } from "./group-id.ts"
import type { GroupRegistry, GroupSlot } from "./group-registry.ts"
import type { GroupStore } from "./group-store.ts"
import { checkCommit, checkCommitToUnknownGroup, type CommitSender } from "./offset-commit-check.ts"

/** Kafka's offset.metadata.max.bytes default. */
export const MAX_OFFSET_METADATA = 4096

export interface OffsetDeps {
  readonly registry: GroupRegistry
  readonly store: GroupStore
  readonly owns: (groupId: string) => Effect.Effect<boolean>
  readonly offsets: ReturnType<typeof makeConsumerOffsets>
  /** This coordinator instance's name as a committer of offsets (unique per instance). */
  readonly committer: string
  /** Whether a partition exists; without it every partition is taken as existing. */
  readonly partitionExists?: (topic: string, partition: number) => Effect.Effect<boolean>
}

type CommitTopics = RequestOf<"OffsetCommit">["topics"]

export const makeOffsetApis = (deps: OffsetDeps) => {
  let seq = 0
  const answerAll = (topics: CommitTopics, code: ErrorCode): ResponseOf<"OffsetCommit"> => ({
    throttleTimeMs: 0,
    topics: topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) }))
  })

  const commitOne = (groupId: string, topic: string, p: CommitTopics[number]["partitions"][number]): Effect.Effect<ErrorCode> =>
    Effect.gen(function*() {
      const metadata = p.committedMetadata ?? ""
      if (metadata.length > MAX_OFFSET_METADATA) return OFFSET_METADATA_TOO_LARGE
      const offset = Number(p.committedOffset)
      if (!Number.isSafeInteger(offset)) return INVALID_REQUEST
      if (deps.partitionExists !== undefined && !(yield* deps.partitionExists(topic, p.partitionIndex))) return UNKNOWN_TOPIC_OR_PARTITION
      const written = yield* Effect.result(deps.offsets.commit(groupId, topic, p.partitionIndex, { offset, metadata, committer: deps.committer, seq: ++seq }))
      return Result.isSuccess(written) ? NONE : COORDINATOR_NOT_AVAILABLE
    })

  const commitAll = (groupId: string, topics: CommitTopics): Effect.Effect<ResponseOf<"OffsetCommit">> =>
    Effect.map(
      Effect.forEach(topics, (t) => Effect.map(Effect.forEach(t.partitions, (p) => commitOne(groupId, t.name, p)), (codes) => ({
        name: t.name,
        partitions: t.partitions.map((p, i) => ({ partitionIndex: p.partitionIndex, errorCode: codes[i]! }))
      }))),
      (out) => ({ throttleTimeMs: 0, topics: out })
    )

  /** NONE if the KV holds the revision of the group this coordinator judges commits by; else the group is dropped. */
  const stillCurrent = (groupId: string, slot: GroupSlot): Effect.Effect<ErrorCode> =>
    Effect.gen(function*() {
      const stored = yield* Effect.result(deps.store.read(groupId))
      if (Result.isFailure(stored)) return COORDINATOR_NOT_AVAILABLE
      if ((stored.success?.revision ?? "absent") === slot.revision) return NONE
      yield* slot.drop(NOT_COORDINATOR)
      return NOT_COORDINATOR
    })

  const offsetCommit = (body: RequestOf<"OffsetCommit">, ctx: GroupRequestContext): Effect.Effect<ResponseOf<"OffsetCommit">> =>
    Effect.gen(function*() {
      const v = ctx.apiVersion
      if (!validGroupId(body.groupId, true)) return answerAll(body.topics, INVALID_GROUP_ID)
      if (!(yield* deps.owns(body.groupId))) return answerAll(body.topics, NOT_COORDINATOR)
      const sender: CommitSender = {
        memberId: v >= 1 ? body.memberId : "",
        instanceId: v >= 7 ? body.groupInstanceId : null,
        generation: v >= 1 ? body.generationIdOrMemberEpoch : -1
      }
      return yield* deps.registry.withGroup(
        body.groupId,
        (slot) =>
          Effect.gen(function*() {
            let code = slot.group === undefined ? checkCommitToUnknownGroup(sender) : checkCommit(slot.group, sender)
            if (code === NONE && slot.group !== undefined) code = yield* stillCurrent(body.groupId, slot)
            if (code === NONE && slot.group === undefined) {
              // A simple consumer's first commit creates the group (Empty), persisted so ListGroups shows it.
              const created = yield* slot.run(newGroup(body.groupId), (_g, step) => {
                step.persist = true
              })
              if (!created.ok) code = created.code
            }
            return code === NONE ? yield* commitAll(body.groupId, body.topics) : answerAll(body.topics, code)
          }),
        (code) => answerAll(body.topics, code)
      )
    })

  return { offsetCommit, offsetFetch: makeOffsetFetch(deps) }
}

interface FetchedPartition {
  readonly partitionIndex: number
  readonly committedOffset: bigint
  readonly committedLeaderEpoch: number
  readonly metadata: string | null
  readonly errorCode: ErrorCode
}
interface FetchedGroup {
  readonly errorCode: ErrorCode
  readonly topics: ReadonlyArray<{ readonly name: string; readonly partitions: ReadonlyArray<FetchedPartition> }>
}

type AskedTopics = ReadonlyArray<{ readonly name: string; readonly partitionIndexes: ReadonlyArray<number> }> | null

const makeOffsetFetch = (deps: OffsetDeps) => {
  const partition = (partitionIndex: number, offset: number, metadata: string, errorCode: ErrorCode): FetchedPartition => ({
    partitionIndex,
    committedOffset: BigInt(offset),
    committedLeaderEpoch: -1,
    metadata,
    errorCode
  })
  const failed = (topics: AskedTopics, code: ErrorCode): FetchedGroup => ({
    errorCode: code,
    topics: (topics ?? []).map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((i) => partition(i, -1, "", code)) }))
  })

  const read = (groupId: string, topics: AskedTopics): Effect.Effect<FetchedGroup, unknown> =>
    Effect.gen(function*() {
      if (topics !== null) {
        const out = yield* Effect.forEach(topics, (t) =>
          Effect.map(Effect.forEach(t.partitionIndexes, (i) => Effect.map(deps.offsets.get(groupId, t.name, i), (c) => partition(i, c?.offset ?? -1, c?.metadata ?? "", NONE))), (partitions) => ({ name: t.name, partitions }))
        )
        return { errorCode: NONE, topics: out }
      }
      const byTopic = new Map<string, Array<FetchedPartition>>()
      for (const o of yield* deps.offsets.list(groupId)) {
        const list = byTopic.get(o.topic) ?? []
        list.push(partition(o.partition, o.committed.offset, o.committed.metadata, NONE))
        byTopic.set(o.topic, list)
      }
      return { errorCode: NONE, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) }
    })

  const fetchGroup = (groupId: string, topics: AskedTopics): Effect.Effect<FetchedGroup> =>
    Effect.gen(function*() {
      if (!validGroupId(groupId, true)) return failed(topics, INVALID_GROUP_ID)
      if (!(yield* deps.owns(groupId))) return failed(topics, NOT_COORDINATOR)
      const r = yield* Effect.result(read(groupId, topics))
      return Result.isSuccess(r) ? r.success : failed(topics, COORDINATOR_NOT_AVAILABLE)
    })

  return (body: RequestOf<"OffsetFetch">, ctx: GroupRequestContext): Effect.Effect<ResponseOf<"OffsetFetch">> =>
    Effect.gen(function*() {
      const v = ctx.apiVersion
      if (v >= 8) {
        const groups = yield* Effect.forEach(body.groups, (g) =>
          Effect.map(fetchGroup(g.groupId, g.topics), (r) => ({ groupId: g.groupId, errorCode: r.errorCode, topics: r.topics }))
        )
        return { throttleTimeMs: 0, topics: [], errorCode: 0, groups }
      }
      // v0 and v1 cannot ask for every partition (null topics arrive from v2).
      const r = yield* fetchGroup(body.groupId, v >= 2 ? body.topics : (body.topics ?? []))
      return { throttleTimeMs: 0, topics: r.topics, errorCode: v >= 2 ? r.errorCode : 0, groups: [] }
    })
}
