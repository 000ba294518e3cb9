/**
 * Test support: a one-or-more-node simulated cluster with every fault off,
 * and a way to run an Effect program on a node and read its outcome after the
 * simulator has run.
 */
import type { NodeId } from "@cairn/core"
import { Effect, Exit } from "effect"
import { faultFreeCluster, type NodeServices, type SimCluster } from "./cluster.ts"

export const quietCluster = (options: Parameters<typeof faultFreeCluster>[0] = {}): SimCluster =>
  faultFreeCluster({ seed: "test", ...options })

/** Outcome slot filled in when a node program finishes. */
export interface Outcome<A, E> {
  exit: Exit.Exit<A, E> | undefined
}

/**
 * Starts `programs[node]` on each listed node (others idle) and returns the
 * outcome slots; call `cluster.scheduler.run(...)` to make time pass.
 */
export const startPrograms = <A, E>(
  cluster: SimCluster,
  programs: Partial<Record<string, Effect.Effect<A, E, NodeServices>>>
): Record<string, Outcome<A, E>> => {
  const outcomes: Record<string, Outcome<A, E>> = {}
  for (const id of Object.keys(programs)) outcomes[id] = { exit: undefined }
  cluster.start(({ id }: { readonly id: NodeId }) => {
    const program = programs[id]
    if (program === undefined) return Effect.never
    return Effect.asVoid(
      Effect.exit(program).pipe(Effect.tap((exit) => Effect.sync(() => (outcomes[id]!.exit = exit))))
    )
  })
  return outcomes
}

/** Runs the cluster for `ms` of virtual time. */
export const runFor = (cluster: SimCluster, ms: number): void => {
  cluster.scheduler.run({ untilNs: cluster.scheduler.now + ms * 1e6 })
}

/** The success value of a finished outcome, or a thrown error describing why not. */
export const valueOf = <A, E>(outcome: Outcome<A, E> | undefined): A => {
  if (outcome?.exit === undefined) throw new Error("program did not finish")
  if (Exit.isFailure(outcome.exit)) throw new Error(`program failed: ${String(outcome.exit.cause)}`)
  return outcome.exit.value
}
