/**
 * The run's trace: every simulator event is folded into a 64-bit hash (two
 * independent 32-bit FNV-1a lanes) and counted. Two runs of one seed and one
 * configuration must print the same hash; the trace is the proof.
 *
 * The last events are kept in a ring buffer so that a failing run can show
 * what led up to the failure without keeping the whole trace in memory.
 */

const ringSize = 64

export class Trace {
  private hashA = 0x811c9dc5
  private hashB = 0x01000193 ^ 0x5bd1e995
  private count = 0
  private readonly ring: Array<string> = []

  /** Records one event: its virtual time (ns) and a description. */
  record(timeNs: number, event: string): void {
    this.count++
    let a = this.hashA
    let b = this.hashB
    const text = `${timeNs}|${event}`
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      a = Math.imul(a ^ c, 0x01000193)
      b = Math.imul(b ^ c, 0x0100019d) ^ (b >>> 15)
    }
    this.hashA = a
    this.hashB = b
    if (this.ring.length === ringSize) this.ring.shift()
    this.ring.push(`t=${(timeNs / 1e6).toFixed(3)}ms ${event}`)
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
    return [...this.ring]
  }
}
