/**
 * Fault coverage: how often each fault kind fired in a run, and which enabled
 * kinds never fired. A silent fault injector is the classic way a simulator
 * proves nothing, so the run reports it.
 */

export class FaultCounter {
  private readonly counts = new Map<string, number>()
  private readonly enabled = new Set<string>()

  /** Declares a fault kind as enabled for this run (so silence is noticed). */
  enable(kind: string): void {
    this.enabled.add(kind)
    if (!this.counts.has(kind)) this.counts.set(kind, 0)
  }

  fired(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1)
  }

  count(kind: string): number {
    return this.counts.get(kind) ?? 0
  }

  /** kind → count, sorted by kind, including enabled kinds that never fired. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  }

  /** Enabled kinds that never fired. */
  silent(): ReadonlyArray<string> {
    return [...this.enabled].filter((kind) => (this.counts.get(kind) ?? 0) === 0).sort()
  }
}
