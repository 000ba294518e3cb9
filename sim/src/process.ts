/**
 * A simulated node process: the host that a node's fibers, timers, disk
 * completions and message deliveries belong to.
 *
 * - `crash` ends the incarnation: its fibers are interrupted, every timer and
 *   in-flight completion it set is dropped, volatile disk state is lost.
 * - `pause` freezes the node as a long GC pause or SIGSTOP would: its timers
 *   and deliveries are held and fire, in order, when it resumes.
 */
import { assert } from "@cairn/core"
import type { SimScheduler } from "./scheduler.ts"

export type ProcessStatus = "running" | "paused" | "crashed"

export class SimProcess {
  private incarnationNumber = 0
  private statusValue: ProcessStatus = "running"
  private held: Array<() => void> = []
  readonly scheduler: SimScheduler
  readonly id: string

  constructor(id: string, scheduler: SimScheduler) {
    this.id = id
    this.scheduler = scheduler
  }

  get incarnation(): number {
    return this.incarnationNumber
  }

  get status(): ProcessStatus {
    return this.statusValue
  }

  /**
   * Runs `callback` after `delayNs` of virtual time, on behalf of this
   * incarnation: dropped if the process crashed meanwhile, held while paused.
   */
  schedule(delayNs: number, callback: () => void): () => void {
    const incarnation = this.incarnationNumber
    return this.scheduler.setTimer(delayNs, () => this.deliver(incarnation, callback))
  }

  /** Runs `callback` now if this incarnation is alive and running. */
  deliver(incarnation: number, callback: () => void): void {
    if (incarnation !== this.incarnationNumber || this.statusValue === "crashed") return
    if (this.statusValue === "paused") this.held.push(callback)
    else callback()
  }

  /** Marks the process crashed and starts a new incarnation number. */
  markCrashed(): void {
    assert(this.statusValue !== "crashed", `${this.id} crashed twice`)
    this.statusValue = "crashed"
    this.incarnationNumber++
    this.held = []
  }

  markRestarted(): void {
    assert(this.statusValue === "crashed", `${this.id} restarted while ${this.statusValue}`)
    this.statusValue = "running"
  }

  pause(): void {
    if (this.statusValue === "running") this.statusValue = "paused"
  }

  resume(): void {
    if (this.statusValue !== "paused") return
    this.statusValue = "running"
    const held = this.held
    this.held = []
    for (const callback of held) callback()
  }
}
