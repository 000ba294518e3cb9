/**
 * The run's trace: every simulator event is folded into a 64-bit hash (two
 * independent 32-bit FNV-1a lanes) and counted. Two runs of one seed and one
 * configuration must print the same hash; the trace is the proof.
 *
 * The last events are kept in a ring buffer so that a failing run can show
 * what led up to the failure without keeping the whole trace in memory.
 * Recording is on the simulator's hot path (every message and disk
 * operation), so it folds the text `${timeNs}|${event}` without building it
 * and formats the ring's entries only when they are asked for.
 */

const ringSize = 64

export class Trace {
  private hashA = 0x811c9dc5
  private hashB = 0x01000193 ^ 0x5bd1e995
  private count = 0
  /** The last `ringSize` events, oldest at `count % ringSize` once full. */
  private readonly ringTimes: Array<number> = []
  private readonly ringEvents: Array<string> = []

  /** Records one event: its virtual time (ns) and a description. */
  record(timeNs: number, event: string): void {
    const slot = this.count % ringSize
    this.count++
    this.fold(String(timeNs))
    this.fold("|")
    this.fold(event)
    this.ringTimes[slot] = timeNs
    this.ringEvents[slot] = event
  }

  private fold(text: string): void {
    let a = this.hashA
    let b = this.hashB
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x0100019d) ^ (b >>> 15)
    }
    this.hashA = a
    this.hashB = b
  }

  get events(): number {
    return this.count
  }

  /** The trace hash, as 16 hex digits. */
  get hash(): string {
    return (this.hashA >>> 0).toString(16).padStart(8, "0") + (this.hashB >>> 0).toString(16).padStart(8, "0")
  }

  /** The most recent events, oldest first. */
  recent(): ReadonlyArray<string> {
    const kept = Math.min(this.count, ringSize)
    const out: Array<string> = []
    for (let k = this.count - kept; k < this.count; k++) {
      const slot = k % ringSize
      out.push(`t=${(this.ringTimes[slot]! / 1e6).toFixed(3)}ms ${this.ringEvents[slot]!}`)
    }
    return out
  }
}
