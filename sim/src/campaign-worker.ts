/** A campaign worker thread: runs every `stride`-th seed from `from` and posts each result. */
import { parentPort, workerData } from "node:worker_threads"
import { runSeed, type RunOptions } from "./run.ts"

const { from, to, stride, options } = workerData as { from: number; to: number; stride: number; options: RunOptions }
for (let seed = from; seed <= to; seed += stride) parentPort!.postMessage(runSeed(seed, options))
