/**
 * Shrinking a failing run: with the seed fixed, switch fault kinds off one at
 * a time and shorten the run while it still fails, so that the failure is
 * shown with as few moving parts as possible. Each step is a full
 * deterministic re-run, so the result replays with one command.
 */
import { drawConfig, type FaultKind } from "./swarm.ts"
import { runSeed, type RunOptions, type RunResult } from "./run.ts"

export interface Minimized {
  readonly options: RunOptions
  readonly result: RunResult
  readonly attempts: number
}

export const minimize = (seed: number, options: RunOptions, onStep?: (line: string) => void): Minimized | undefined => {
  let best = runSeed(seed, options)
  if (best.result === "pass") return undefined
  let current = options
  let attempts = 1
  const enabled = (): ReadonlyArray<FaultKind> =>
    Object.keys(drawConfig(seed, current).faults) as Array<FaultKind>
  for (const kind of enabled()) {
    const candidate: RunOptions = { ...current, disable: [...(current.disable ?? []), kind] }
    const result = runSeed(seed, candidate)
    attempts++
    if (result.result === "fail") {
      current = candidate
      best = result
      onStep?.(`still fails without ${kind}`)
    }
  }
  for (;;) {
    const duration = drawConfig(seed, current).durationMs
    if (duration <= 2_000) break
    const candidate: RunOptions = { ...current, durationMs: Math.max(2_000, Math.floor(duration / 2)) }
    const result = runSeed(seed, candidate)
    attempts++
    if (result.result === "pass") break
    current = candidate
    best = result
    onStep?.(`still fails in ${candidate.durationMs} ms`)
  }
  return { options: current, result: best, attempts }
}
