/**
 * The simulator's deterministic scheduler over virtual time.
 *
 * Every Effect fiber of a simulated cluster runs on this scheduler: its
 * dispatcher queues runnable fiber tasks in one FIFO per priority, and the
 * event loop drains them before it jumps virtual time to the next timer. No
 * task ever waits on the host's event loop, so an hour of idle cluster time
 * costs only the timers that fire in it, and the order of everything that
 * happens depends on nothing but the seed.
 *
 * Virtual time is kept in integer nanoseconds. Timers with equal deadlines
 * fire in the order they were set.
 */
import { assert } from "@cairn/core"
import type { Fiber, Scheduler } from "effect"

interface Timer {
  readonly at: number
  readonly seq: number
  callback: (() => void) | undefined
}

/** A binary min-heap of timers ordered by (deadline, insertion sequence). */
class TimerHeap {
  private readonly items: Array<Timer> = []

  get size(): number {
    return this.items.length
  }

  peek(): Timer | undefined {
    return this.items[0]
  }

  push(timer: Timer): void {
    const items = this.items
    items.push(timer)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(items[i]!, items[parent]!)) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
  }

  pop(): Timer | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let smallest = i
        if (l < items.length && before(items[l]!, items[smallest]!)) smallest = l
        if (r < items.length && before(items[r]!, items[smallest]!)) smallest = r
        if (smallest === i) break
        ;[items[i], items[smallest]] = [items[smallest]!, items[i]!]
        i = smallest
      }
    }
    return top
  }
}

interface TaskQueue {
  readonly priority: number
  readonly tasks: Array<() => void>
  head: number
}

const before = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq)

/** Cancels a timer set with `SimScheduler.setTimer`. */
export type CancelTimer = () => void

/** Budget for a run: stop at this virtual time or after this many loop steps. */
export interface RunLimits {
  readonly untilNs: number
  readonly maxSteps?: number
}

export class SimScheduler implements Scheduler.Scheduler {
  readonly executionMode = "sync" as const
  private nowNs = 0
  private seq = 0
  private steps = 0
  private stopRequested = false
  private readonly timers = new TimerHeap()
  /** Runnable fiber tasks by priority, sorted; lower runs first, FIFO within one. */
  private readonly ready: Array<TaskQueue> = []
  private readyCount = 0
  private readonly dispatcher: Scheduler.SchedulerDispatcher
  private readonly maxOpsBeforeYield: number

  constructor(maxOpsBeforeYield = 2048) {
    this.maxOpsBeforeYield = maxOpsBeforeYield
    this.dispatcher = {
      scheduleTask: (task, priority) => this.scheduleTask(task, priority),
      flush: () => this.drainReady()
    }
  }

  /** Current virtual time in nanoseconds. */
  get now(): number {
    return this.nowNs
  }

  get stepCount(): number {
    return this.steps
  }

  get pendingTimers(): number {
    return this.timers.size
  }

  shouldYield(fiber: Fiber.Fiber<unknown, unknown>): boolean {
    return fiber.currentOpCount >= this.maxOpsBeforeYield
  }

  makeDispatcher(): Scheduler.SchedulerDispatcher {
    return this.dispatcher
  }

  private scheduleTask(task: () => void, priority: number): void {
    let index = 0
    while (index < this.ready.length && this.ready[index]!.priority < priority) index++
    let queue = this.ready[index]
    if (queue === undefined || queue.priority !== priority) {
      queue = { priority, tasks: [], head: 0 }
      this.ready.splice(index, 0, queue)
    }
    queue.tasks.push(task)
    this.readyCount++
  }

  /** Asks `run` to return after the current step (a violation was found). */
  stop(): void {
    this.stopRequested = true
  }

  get stopped(): boolean {
    return this.stopRequested
  }

  /** Runs `callback` at virtual time `now + delayNs` (at least now). */
  setTimer(delayNs: number, callback: () => void): CancelTimer {
    assert(Number.isFinite(delayNs), () => `timer delay must be finite, got ${delayNs}`)
    const timer: Timer = { at: this.nowNs + Math.max(0, Math.round(delayNs)), seq: this.seq++, callback }
    this.timers.push(timer)
    return () => {
      timer.callback = undefined
    }
  }

  /** Runs every runnable task, including the ones they make runnable. */
  private drainReady(): void {
    while (this.readyCount > 0 && !this.stopRequested) {
      let queue = this.ready[0]!
      for (let i = 1; queue.head === queue.tasks.length; i++) queue = this.ready[i]!
      const task = queue.tasks[queue.head]!
      queue.head++
      if (queue.head === queue.tasks.length) {
        queue.tasks.length = 0
        queue.head = 0
      }
      this.readyCount--
      this.steps++
      task()
    }
  }

  /**
   * Runs the world until virtual time reaches `limits.untilNs`, no work is
   * left, or the step budget runs out. Returns why it stopped.
   */
  run(limits: RunLimits): "deadline" | "idle" | "steps" | "stopped" {
    const maxSteps = limits.maxSteps ?? Number.POSITIVE_INFINITY
    for (;;) {
      this.drainReady()
      if (this.stopRequested) return "stopped"
      if (this.steps >= maxSteps) return "steps"
      const next = this.timers.peek()
      if (next === undefined) {
        // Nothing left to happen, but time still passes until the deadline.
        if (Number.isFinite(limits.untilNs)) this.nowNs = Math.max(this.nowNs, limits.untilNs)
        return "idle"
      }
      if (next.at > limits.untilNs) {
        this.nowNs = Math.max(this.nowNs, limits.untilNs)
        return "deadline"
      }
      this.timers.pop()
      const callback = next.callback
      if (callback === undefined) continue
      assert(next.at >= this.nowNs, "virtual time went backwards")
      this.nowNs = next.at
      this.steps++
      callback()
    }
  }
}
