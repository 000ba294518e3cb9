/**
 * Logs this node's Raft role and leader as they change, by sampling the
 * node's status (every 250 ms by default; a change that comes and goes
 * between two samples is not seen): a new leader (or none) at `info`, every
 * role change at `debug`. Reading the status is all it does — Raft is not
 * touched, and the simulator's observer hook stays unused in production.
 */
import { Clock, type NodeId } from "@cairn/core"
import type { SoftState } from "@cairn/core/raft/raft"
import { Effect } from "effect"
import { log } from "../log/log.ts"

export const watchRaft = (status: Effect.Effect<SoftState & { readonly commit: number }>, everyMs = 250): Effect.Effect<never, never, Clock> =>
  Effect.gen(function*() {
    const clock = yield* Clock
    let role: string | undefined
    let leader: NodeId | undefined | null = null
    for (;;) {
      const s = yield* status
      if (s.role !== role) {
        log("debug", "raft role changed", { from: role ?? null, to: s.role, term: s.term, commit: s.commit })
        role = s.role
      }
      if (s.leader !== leader) {
        if (s.leader === undefined) log("info", "raft: no leader known", { term: s.term, role: s.role })
        else log("info", "raft: leader", { leader: s.leader, term: s.term, role: s.role })
        leader = s.leader
      }
      yield* clock.sleep(everyMs)
    }
  })
