/**
 * Damage a disk holds and has not yet rewritten, and the cluster-wide view of
 * it that keeps the simulator's corruption within the fault model.
 *
 * The model replication promises to survive is "at most f copies of an entry
 * damaged": a committed entry lives as long as one copy is intact. Replicas
 * write the same records in the same order, so their files share a layout
 * (Raft's WAL puts entry i at the same offset on every node that took the
 * same appends), and a 4 KiB sector holds dozens of records. The simulator
 * fires corruption at rates no real disk reaches in years, so two independent
 * faults on two nodes meet on the same sector within a repair window far more
 * often than disks do; when those are the only copies of a committed entry,
 * every copy is gone and no protocol can bring it back (raft-kv seed 811: a
 * misdirected write lost entry 309 on one voter of two, and 600 ms later a
 * latent sector error on the other voter took the sector that held its copy).
 *
 * So a corrupting fault (latent sector, bit rot, misdirected write) is
 * withheld when a sector it would damage is damaged, at the same place of the
 * same file, on another node of the cluster. The fault's random draws are
 * still made, so a seed that never meets the case runs exactly as before; a
 * withheld fault is counted as `<kind>-withheld` and traced. Damage counts as
 * mended once the bytes are rewritten (synced or not, like a latent sector),
 * or cut off by a truncate. Replicas whose layouts have diverged (a node that
 * installed a snapshot restarts its WAL) are not covered: the rule compares
 * places, not contents.
 */

/** Byte ranges [from, to) of one file whose stored bytes are not what was written there. */
export class DamagedRanges {
  private ranges: Array<{ readonly from: number; readonly to: number }> = []

  add(from: number, to: number): void {
    if (to > from) this.ranges.push({ from, to })
  }

  /** The bytes [from, to) were written again: whatever damage they held is gone. */
  mend(from: number, to: number): void {
    if (this.ranges.length === 0) return
    const kept: Array<{ readonly from: number; readonly to: number }> = []
    for (const r of this.ranges) {
      if (r.to <= from || r.from >= to) {
        kept.push(r)
        continue
      }
      if (r.from < from) kept.push({ from: r.from, to: from })
      if (r.to > to) kept.push({ from: to, to: r.to })
    }
    this.ranges = kept
  }

  /** The file was cut to `size`: damage past it is gone with the bytes. */
  truncate(size: number): void {
    this.mend(size, Number.POSITIVE_INFINITY)
  }

  touches(from: number, to: number): boolean {
    return this.ranges.some((r) => r.from < to && r.to > from)
  }
}

/** What the cluster asks of each node's disk. */
export interface DamageHolder {
  readonly label: string
  /** Does `path` hold damage, here, in sectors first..last? */
  damagedIn(path: string, first: number, last: number): boolean
}

/** The disks of one cluster, so that a fault drawn on one sees damage on the others. */
export class ClusterDamage {
  private readonly disks: Array<DamageHolder> = []

  join(disk: DamageHolder): void {
    this.disks.push(disk)
  }

  /** The first other node whose `path` is damaged in sectors first..last, if any. */
  elsewhere(self: DamageHolder, path: string, first: number, last: number): string | undefined {
    for (const disk of this.disks) {
      if (disk !== self && disk.damagedIn(path, first, last)) return disk.label
    }
    return undefined
  }
}
