/**
 * A node's message inbox: an unbounded FIFO whose `take` suspends the
 * receiving fiber until a message arrives. Delivery resumes the receiver
 * synchronously from the simulator's event loop, so it adds no scheduling of
 * its own and stays deterministic.
 */
import type { Envelope } from "@cairn/core"
import { Effect } from "effect"

export class Inbox {
  private readonly messages: Array<Envelope> = []
  private head = 0
  private readonly waiters: Array<(effect: Effect.Effect<Envelope>) => void> = []

  offer(message: Envelope): void {
    const waiter = this.waiters.shift()
    if (waiter !== undefined) waiter(Effect.succeed(message))
    else this.messages.push(message)
  }

  get size(): number {
    return this.messages.length - this.head
  }

  readonly take: Effect.Effect<Envelope> = Effect.callback<Envelope>((resume) => {
    if (this.head < this.messages.length) {
      const message = this.messages[this.head++]!
      if (this.head === this.messages.length) {
        this.messages.length = 0
        this.head = 0
      }
      resume(Effect.succeed(message))
      return
    }
    this.waiters.push(resume)
    return Effect.sync(() => {
      const index = this.waiters.indexOf(resume)
      if (index >= 0) this.waiters.splice(index, 1)
    })
  })
}
