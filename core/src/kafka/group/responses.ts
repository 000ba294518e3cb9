/**
 * The wire bodies of JoinGroup and SyncGroup answers in the version the
 * request came in: a field the version lacks keeps its default (the codec
 * refuses anything else), a null the version cannot carry becomes "".
 */
import type { ResponseOf } from "../protocol/api-table.ts"
import type { JoinResult, SyncResult } from "./step.ts"

export const joinBody = (r: JoinResult, version: number): ResponseOf<"JoinGroup"> => ({
  throttleTimeMs: 0,
  errorCode: r.errorCode,
  generationId: r.generationId,
  protocolType: version >= 7 ? r.protocolType : null,
  // Before v7 the protocol name is never null on the wire.
  protocolName: version >= 7 ? r.protocolName : (r.protocolName ?? ""),
  leader: r.leader,
  skipAssignment: version >= 9 ? r.skipAssignment : false,
  memberId: r.memberId,
  members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: version >= 5 ? m.groupInstanceId : null, metadata: m.metadata }))
})

export const syncBody = (r: SyncResult, version: number): ResponseOf<"SyncGroup"> => ({
  throttleTimeMs: 0,
  errorCode: r.errorCode,
  protocolType: version >= 5 ? r.protocolType : null,
  protocolName: version >= 5 ? r.protocolName : null,
  assignment: r.assignment
})
