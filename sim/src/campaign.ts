/**
 * Campaigns over a range of seeds, on one thread or spread over worker
 * threads. Seeds are independent and deterministic, so running them in
 * parallel changes nothing but the wall time; results come back in seed order.
 */
import { Worker } from "node:worker_threads"
import { runSeed, type RunOptions, type RunResult } from "./run.ts"

export interface SeedRange {
  readonly from: number
  readonly to: number
}

/** Yields every seed's result in order, running `workers` seeds at a time. */
export async function* runCampaign(range: SeedRange, options: RunOptions, workers: number): AsyncGenerator<RunResult> {
  if (workers <= 1 || range.to === range.from) {
    for (let seed = range.from; seed <= range.to; seed++) {
      yield runSeed(seed, options)
      // A seed runs synchronously and an async generator resumes on microtasks only, so without
      // this turn of the event loop a SIGINT/SIGTERM handler would never run until the campaign ends.
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    return
  }
  const results = new Map<number, RunResult>()
  let wake: (() => void) | undefined
  let failure: Error | undefined
  const threads: Array<Worker> = []
  for (let w = 0; w < workers; w++) {
    const worker = new Worker(new URL("./campaign-worker.ts", import.meta.url), {
      workerData: { from: range.from + w, to: range.to, stride: workers, options }
    })
    worker.on("message", (result: RunResult) => {
      results.set(result.seed, result)
      wake?.()
    })
    worker.on("error", (error) => {
      failure = error
      wake?.()
    })
    threads.push(worker)
  }
  try {
    for (let seed = range.from; seed <= range.to; seed++) {
      while (!results.has(seed)) {
        if (failure !== undefined) throw failure
        await new Promise<void>((resolve) => (wake = resolve))
      }
      const result = results.get(seed)!
      results.delete(seed)
      yield result
    }
  } finally {
    for (const worker of threads) await worker.terminate()
  }
}
