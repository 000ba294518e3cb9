/**
 * What one transition of a group decides besides its new state: answers
 * to parked JoinGroup and SyncGroup requests (by waiter id) and whether the
 * group's persisted record changed. The driver (`coordinator.ts`) writes
 * the record first and delivers the answers only once it is durable, so no
 * client ever holds a generation or an assignment the KV does not.
 */
import type { GroupConfig } from "./group.ts"
import { NONE, type ErrorCode } from "./error-codes.ts"

export interface JoinMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly metadata: Uint8Array
}

export interface JoinResult {
  readonly errorCode: ErrorCode
  readonly generationId: number
  readonly protocolType: string | null
  readonly protocolName: string | null
  readonly leader: string
  readonly memberId: string
  /** Only the leader gets the members (and their metadata for the chosen protocol). */
  readonly members: ReadonlyArray<JoinMember>
  /** v9+: the leader need not assign again (a static leader that rejoined a stable group). */
  readonly skipAssignment: boolean
}

export interface SyncResult {
  readonly errorCode: ErrorCode
  readonly protocolType: string | null
  readonly protocolName: string | null
  readonly assignment: Uint8Array
}

export type Reply =
  | { readonly kind: "join"; readonly waiter: number; readonly result: JoinResult }
  | { readonly kind: "sync"; readonly waiter: number; readonly result: SyncResult }

/** The context and the collected outputs of one transition. */
export interface Step {
  readonly now: number
  readonly config: GroupConfig
  readonly replies: Array<Reply>
  persist: boolean
}

export const newStep = (now: number, config: GroupConfig): Step => ({ now, config, replies: [], persist: false })

export const joinError = (memberId: string, errorCode: ErrorCode): JoinResult => {
  // An error answer carries no generation (Kafka's -1) and no members.
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: "", memberId, members: [], skipAssignment: false }
}

export const syncError = (errorCode: ErrorCode): SyncResult => ({ errorCode, protocolType: null, protocolName: null, assignment: new Uint8Array(0) })

export const replyJoin = (step: Step, waiter: number, result: JoinResult): void => {
  step.replies.push({ kind: "join", waiter, result })
}

export const replySync = (step: Step, waiter: number, result: SyncResult): void => {
  step.replies.push({ kind: "sync", waiter, result })
}

export const isOk = (code: ErrorCode): boolean => code === NONE
