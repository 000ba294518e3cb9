/**
 * Drives one group's state machine by hand for tests: explicit time, waiter
 * ids handed out in order, every reply kept by waiter, the group's
 * invariants checked after every transition, and the records the driver
 * would have persisted kept in order.
 */
import { checkGroup, defaultGroupConfig, newGroup, type Group, type GroupConfig, type Protocol } from "./group.ts"
import { recordOf, type GroupRecord } from "./group-record.ts"
import { tick } from "./expiry.ts"
import { join, type JoinInput } from "./join.ts"
import { heartbeat, leave, type Leaver } from "./membership.ts"
import { newStep, type JoinResult, type Step, type SyncResult } from "./step.ts"
import { sync } from "./sync.ts"

export const consumerProtocols = (...names: ReadonlyArray<string>): ReadonlyArray<Protocol> =>
  names.map((name) => ({ name, metadata: new TextEncoder().encode(`sub:${name}`) }))

export interface JoinOptions {
  readonly instanceId?: string | null
  readonly protocols?: ReadonlyArray<Protocol>
  readonly protocolType?: string
  readonly sessionTimeoutMs?: number
  readonly rebalanceTimeoutMs?: number
  readonly requireKnownMemberId?: boolean
}

export class MachineHarness {
  group: Group
  now = 0
  readonly config: GroupConfig
  readonly joins = new Map<number, JoinResult>()
  readonly syncs = new Map<number, SyncResult>()
  readonly persisted: Array<GroupRecord> = []
  private nextWaiter = 1
  private nextId = 1

  constructor(config: Partial<GroupConfig> = {}, groupId = "g") {
    this.config = { ...defaultGroupConfig, initialRebalanceDelayMs: 0, ...config }
    this.group = newGroup(groupId)
  }

  run<A>(f: (g: Group, step: Step) => A): A {
    const step = newStep(this.now, this.config)
    const out = f(this.group, step)
    checkGroup(this.group)
    if (step.persist) this.persisted.push(recordOf(this.group))
    for (const r of step.replies) {
      if (r.kind === "join") {
        if (this.joins.has(r.waiter)) throw new Error(`join waiter ${r.waiter} answered twice`)
        this.joins.set(r.waiter, r.result)
      } else {
        if (this.syncs.has(r.waiter)) throw new Error(`sync waiter ${r.waiter} answered twice`)
        this.syncs.set(r.waiter, r.result)
      }
    }
    return out
  }

  /** Sends a JoinGroup; returns its waiter id (look the answer up in `joins`). */
  join(memberId: string, o: JoinOptions = {}): number {
    const waiter = this.nextWaiter++
    const input: JoinInput = {
      memberId,
      instanceId: o.instanceId ?? null,
      clientId: "client",
      clientHost: "/127.0.0.1",
      sessionTimeoutMs: o.sessionTimeoutMs ?? 10_000,
      rebalanceTimeoutMs: o.rebalanceTimeoutMs ?? 30_000,
      protocolType: o.protocolType ?? "consumer",
      protocols: o.protocols ?? consumerProtocols("range"),
      requireKnownMemberId: o.requireKnownMemberId ?? false,
      newMemberId: `m${this.nextId++}`,
      waiter
    }
    this.run((g, step) => join(g, input, step))
    return waiter
  }

  sync(memberId: string, generation: number, assignments: ReadonlyArray<readonly [string, string]> = [], instanceId: string | null = null): number {
    const waiter = this.nextWaiter++
    const encoded = assignments.map(([m, a]) => ({ memberId: m, assignment: new TextEncoder().encode(a) }))
    this.run((g, step) => sync(g, { memberId, instanceId, generation, protocolType: null, protocolName: null, assignments: encoded, waiter }, step))
    return waiter
  }

  heartbeat(memberId: string, generation: number, instanceId: string | null = null): number {
    return this.run((g, step) => heartbeat(g, { memberId, instanceId, generation }, step))
  }

  leave(leavers: ReadonlyArray<Leaver>): ReadonlyArray<number> {
    return this.run((g, step) => leave(g, leavers, step))
  }

  /** Moves time on, ticking as the coordinator's timer would (every `every` ms). */
  advance(ms: number, every = 100): void {
    const end = this.now + ms
    while (this.now < end) {
      this.now = Math.min(end, this.now + every)
      this.run((g, step) => tick(g, step))
    }
  }

  assignmentText(waiter: number): string | undefined {
    const r = this.syncs.get(waiter)
    return r === undefined ? undefined : new TextDecoder().decode(r.assignment)
  }
}
