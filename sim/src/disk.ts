/**
 * A simulated disk per node, at sector granularity, that lies the way real
 * disks do.
 *
 * Model: every file is an inode with a *current* image (what reads see) and
 * a *durable* image (what survives power loss), both as sparse maps of
 * sectors. Writes only change the current image; `sync` copies the file's
 * dirty sectors and size to the durable image. Names work the same way per
 * directory: creating, renaming and removing change the current namespace,
 * `syncDirectory` makes a directory's changes durable.
 *
 * At a crash each dirty sector independently lands or is lost (so a
 * multi-sector write tears at sector boundaries), an unsynced size change
 * lands or not, each unsynced name change lands or not, and the current image
 * becomes the durable one.
 *
 * Faults, each at its own rate: read and write errors (EIO), latent sector
 * errors (a sector that fails reads until it is rewritten), bit rot (a bit
 * flips in stored data), misdirected writes (the data lands a few sectors
 * away), failed fsync (the unsynced data is gone), a full disk, and latency
 * with occasional slow operations. A corrupting fault is withheld where
 * another node's copy of the same file is already damaged at the same place
 * (`disk-damage.ts`: the simulator stays within "at most f copies damaged").
 */
import {
  assert,
  directoryOf,
  DiskFullError,
  DiskIOError,
  DiskSyncError,
  FileExistsError,
  FileNotFoundError,
  type DiskFile,
  type DiskShape
} from "@cairn/core"
import type { SeededSource } from "@cairn/runtime-test"
import { Effect } from "effect"
import { DamagedRanges, type ClusterDamage, type DamageHolder } from "./disk-damage.ts"
import type { FaultCounter } from "./fault-counter.ts"
import type { SimProcess } from "./process.ts"
import type { Trace } from "./trace.ts"

export interface DiskFaultConfig {
  /** Per read: the read fails with EIO. */
  readonly readErrorRate: number
  /** Per write: the write fails with EIO and nothing lands. */
  readonly writeErrorRate: number
  /** Per sync: the sync fails and the file's unsynced data is lost. */
  readonly syncFailureRate: number
  /** Per write: one written sector becomes unreadable until rewritten. */
  readonly latentSectorRate: number
  /** Per read: a bit flips, durably, in one stored sector in the range. */
  readonly bitRotRate: number
  /** Per write: the data lands 1–8 sectors past where it was meant to. */
  readonly misdirectedWriteRate: number
  /** Bytes the disk holds; writes past it fail with ENOSPC. */
  readonly capacityBytes: number
  /** Latency of one operation, uniform in [min, max] nanoseconds. */
  readonly latencyNs: readonly [number, number]
  /** Per operation: the operation is slow (100× the maximum latency). */
  readonly slowRate: number
}

export const faultFreeDisk: DiskFaultConfig = {
  readErrorRate: 0,
  writeErrorRate: 0,
  syncFailureRate: 0,
  latentSectorRate: 0,
  bitRotRate: 0,
  misdirectedWriteRate: 0,
  capacityBytes: Number.MAX_SAFE_INTEGER,
  latencyNs: [0, 0],
  slowRate: 0
}

/** A file image: a size and a sparse map of sectors (missing ones read as zeros). */
interface Image {
  size: number
  readonly sectors: Map<number, Uint8Array>
}

interface Inode {
  readonly id: number
  current: Image
  durable: Image
  /** Sectors written or truncated since the last successful sync. */
  readonly dirty: Set<number>
  /** Sectors that fail every read until rewritten (latent sector errors). */
  readonly latent: Set<number>
  /**
   * Sectors whose current bytes are the current image's alone (no durable
   * sector is the same array), so a write may change them in place. A sync
   * that shares a sector with the durable image, and a crash or failed
   * fsync that rebuilds the current image from the durable one, take a
   * sector out of it.
   */
  readonly owned: Set<number>
  /** Bytes a misdirected write or bit rot left wrong, until rewritten (latent sectors are in `latent`). */
  readonly damaged: DamagedRanges
}

const cloneImage = (image: Image): Image => ({ size: image.size, sectors: new Map(image.sectors) })

/**
 * New sectors for one write, carved out of a single buffer allocated when the
 * first one is needed (sized for the rest of the write), so a large write
 * allocates once rather than once per sector. The views keep that buffer
 * alive only as long as sectors of this write do.
 */
class FreshSectors {
  private buffer: Uint8Array | undefined
  private used = 0
  private readonly size: number
  private readonly last: number

  constructor(size: number, last: number) {
    this.size = size
    this.last = last
  }

  take(s: number): Uint8Array {
    if (this.buffer === undefined || this.used === this.buffer.length) {
      this.buffer = new Uint8Array((this.last - s + 1) * this.size)
      this.used = 0
    }
    const sector = this.buffer.subarray(this.used, this.used + this.size)
    this.used += this.size
    return sector
  }
}

export class SimDisk implements DamageHolder {
  readonly sectorSize: number
  config: DiskFaultConfig
  private readonly names = new Map<string, Inode>()
  private durableNames = new Map<string, Inode>()
  /** Directory → names whose binding changed since that directory's last sync. */
  private readonly dirtyNames = new Map<string, Set<string>>()
  private nextInode = 1
  private readonly random: SeededSource
  private readonly faults: FaultCounter
  private readonly trace: Trace
  private readonly process: SimProcess
  readonly label: string
  private readonly damage: ClusterDamage | undefined

  constructor(options: {
    readonly label: string
    readonly process: SimProcess
    readonly random: SeededSource
    readonly faults: FaultCounter
    readonly trace: Trace
    readonly config: DiskFaultConfig
    readonly sectorSize?: number
    /** The cluster's disks, whose damage this one's corrupting faults avoid. */
    readonly damage?: ClusterDamage
  }) {
    this.label = options.label
    this.process = options.process
    this.random = options.random
    this.faults = options.faults
    this.trace = options.trace
    this.config = options.config
    this.sectorSize = options.sectorSize ?? 4096
    assert(this.sectorSize > 0 && (this.sectorSize & (this.sectorSize - 1)) === 0, "sector size must be a power of two")
    this.damage = options.damage
    this.damage?.join(this)
  }

  // ---- the Disk service -------------------------------------------------------

  /** The Disk service bound to the process's current incarnation. */
  service(): DiskShape {
    const incarnation = this.process.incarnation
    return {
      sectorSize: this.sectorSize,
      open: (path, mode) =>
        this.op(incarnation, `open ${path} ${mode}`, (): Effect.Effect<DiskFile, FileNotFoundError | FileExistsError | DiskIOError | DiskFullError> => {
          let inode = this.names.get(path)
          if (inode !== undefined && mode === "create-new") return Effect.fail(new FileExistsError({ path }))
          if (inode === undefined) {
            if (mode === "existing") return Effect.fail(new FileNotFoundError({ path }))
            inode = { id: this.nextInode++, current: { size: 0, sectors: new Map() }, durable: { size: 0, sectors: new Map() }, dirty: new Set(), latent: new Set(), owned: new Set(), damaged: new DamagedRanges() }
            this.bind(path, inode)
          }
          return Effect.succeed(this.handle(incarnation, path, inode))
        }),
      remove: (path) =>
        this.op(incarnation, `remove ${path}`, () => {
          if (!this.names.has(path)) return Effect.fail(new FileNotFoundError({ path }))
          this.bind(path, undefined)
          return Effect.void
        }),
      rename: (from, to) =>
        this.op(incarnation, `rename ${from} ${to}`, () => {
          const inode = this.names.get(from)
          if (inode === undefined) return Effect.fail(new FileNotFoundError({ path: from }))
          this.bind(to, inode)
          this.bind(from, undefined)
          return Effect.void
        }),
      list: (dir) =>
        this.op(incarnation, `list ${dir}`, () =>
          Effect.succeed(
            [...this.names.keys()]
              .filter((p) => directoryOf(p) === dir)
              .map((p) => (dir === "" ? p : p.slice(dir.length + 1)))
              .sort()
          )
        ),
      syncDirectory: (dir) =>
        this.op(incarnation, `syncdir ${dir}`, () => {
          const dirty = this.dirtyNames.get(dir)
          if (this.random.chance(this.config.syncFailureRate)) {
            this.faults.fired("disk.fsync-failure")
            // The directory's unsynced changes are gone: roll the names back.
            if (dirty !== undefined) {
              for (const name of dirty) {
                const durable = this.durableNames.get(name)
                if (durable === undefined) this.names.delete(name)
                else this.names.set(name, durable)
              }
              this.dirtyNames.delete(dir)
            }
            return Effect.fail(new DiskSyncError({ path: dir, message: "simulated fsync failure: directory changes lost" }))
          }
          if (dirty !== undefined) {
            for (const name of dirty) {
              const inode = this.names.get(name)
              if (inode === undefined) this.durableNames.delete(name)
              else this.durableNames.set(name, inode)
            }
            this.dirtyNames.delete(dir)
          }
          return Effect.void
        })
    }
  }

  private handle(incarnation: number, path: string, inode: Inode): DiskFile {
    return {
      path,
      read: (offset, length) => this.op(incarnation, `read ${path} ${offset}+${length}`, () => this.read(path, inode, offset, length)),
      write: (offset, data) => this.op(incarnation, `write ${path} ${offset}+${data.length}`, () => this.write(path, inode, offset, data)),
      sync: this.op(incarnation, `sync ${path}`, () => this.sync(path, inode)),
      size: this.op(incarnation, `size ${path}`, () => Effect.succeed(inode.current.size)),
      truncate: (size) =>
        this.op(incarnation, `truncate ${path} ${size}`, () => {
          this.truncateImage(inode, size)
          return Effect.void
        }),
      close: Effect.void
    }
  }

  /**
   * Runs one disk operation: after the simulated latency, on behalf of the
   * incarnation that issued it (a crash drops operations in flight).
   */
  private op<A, E>(incarnation: number, what: string, body: () => Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.callback<A, E>((resume) => {
      assert(incarnation === this.process.incarnation, () => `${this.label}: disk handle used after a crash: ${what}`)
      const [min, max] = this.config.latencyNs
      let latency = max > min ? this.random.intBetween(min, max) : min
      if (this.random.chance(this.config.slowRate)) {
        this.faults.fired("disk.slow")
        latency = Math.max(max, 1_000_000) * 100
      }
      const cancel = this.process.schedule(latency, () => {
        this.trace.record(this.process.scheduler.now, `${this.label} ${what}`)
        resume(body())
      })
      return Effect.sync(cancel)
    })
  }

  // ---- data -----------------------------------------------------------------

  private read(path: string, inode: Inode, offset: number, length: number): Effect.Effect<Uint8Array, DiskIOError> {
    assert(offset >= 0 && length >= 0, "read range must be non-negative")
    if (this.random.chance(this.config.readErrorRate)) {
      this.faults.fired("disk.read-error")
      return Effect.fail(new DiskIOError({ op: "read", path, offset, message: "simulated EIO" }))
    }
    const end = Math.min(offset + length, inode.current.size)
    if (end <= offset) return Effect.succeed(new Uint8Array(0))
    const first = Math.floor(offset / this.sectorSize)
    const last = Math.floor((end - 1) / this.sectorSize)
    for (let s = first; s <= last; s++) {
      if (inode.latent.has(s)) {
        this.faults.fired("disk.latent-sector-read")
        return Effect.fail(new DiskIOError({ op: "read", path, offset: s * this.sectorSize, message: "simulated latent sector error" }))
      }
    }
    if (this.random.chance(this.config.bitRotRate)) {
      const s = this.random.intBetween(first, last)
      if (inode.current.sectors.has(s)) {
        const bit = this.random.intBetween(0, this.sectorSize * 8 - 1)
        if (!this.withheld("disk.bit-rot", path, s, s)) {
          this.faults.fired("disk.bit-rot")
          this.rot(inode, s, bit)
        }
      }
    }
    const out = new Uint8Array(end - offset)
    for (let s = first; s <= last; s++) {
      const sector = inode.current.sectors.get(s)
      if (sector === undefined) continue
      const sectorStart = s * this.sectorSize
      const from = Math.max(offset, sectorStart)
      const to = Math.min(end, sectorStart + this.sectorSize)
      out.set(sector.subarray(from - sectorStart, to - sectorStart), from - offset)
    }
    return Effect.succeed(out)
  }

  /** Flips bit `bit` of sector `s` in both images: the medium itself decayed. */
  private rot(inode: Inode, s: number, bit: number): void {
    const byte = s * this.sectorSize + (bit >> 3)
    inode.damaged.add(byte, byte + 1)
    for (const image of [inode.current, inode.durable]) {
      const sector = image.sectors.get(s)
      if (sector === undefined) continue
      const rotted = sector.slice()
      rotted[bit >> 3]! ^= 1 << (bit & 7)
      image.sectors.set(s, rotted)
    }
  }

  private write(path: string, inode: Inode, offset: number, data: Uint8Array): Effect.Effect<void, DiskIOError | DiskFullError> {
    assert(offset >= 0, "write offset must be non-negative")
    if (this.random.chance(this.config.writeErrorRate)) {
      this.faults.fired("disk.write-error")
      return Effect.fail(new DiskIOError({ op: "write", path, offset, message: "simulated EIO" }))
    }
    const end = offset + data.length
    if (end > inode.current.size && this.mayFill() && this.usedBytes() + (end - inode.current.size) > this.config.capacityBytes) {
      this.faults.fired("disk.enospc")
      return Effect.fail(new DiskFullError({ path, message: "simulated ENOSPC" }))
    }
    let target = offset
    if (data.length > 0 && this.random.chance(this.config.misdirectedWriteRate)) {
      const shifted = offset + this.random.intBetween(1, 8) * this.sectorSize
      // It damages both places: the one meant keeps its old bytes, the one hit loses its own.
      const meant = this.withheld("disk.misdirected-write", path, this.sectorOf(offset), this.sectorOf(end - 1))
      if (!meant && !this.withheld("disk.misdirected-write", path, this.sectorOf(shifted), this.sectorOf(shifted + data.length - 1))) {
        this.faults.fired("disk.misdirected-write")
        target = shifted
      }
    }
    this.writeImage(inode, target, data)
    if (target !== offset) {
      inode.damaged.add(offset, end)
      inode.damaged.add(target, target + data.length)
    }
    if (data.length > 0 && this.random.chance(this.config.latentSectorRate)) {
      const s = this.random.intBetween(this.sectorOf(target), this.sectorOf(target + data.length - 1))
      if (!this.withheld("disk.latent-sector", path, s, s)) {
        this.faults.fired("disk.latent-sector")
        inode.latent.add(s)
      }
    }
    return Effect.void
  }

  private sectorOf(byte: number): number {
    return Math.floor(byte / this.sectorSize)
  }

  /**
   * Is a corrupting fault of `kind` on sectors first..last of `path` to be withheld, because
   * another node's copy is damaged there? Counted and traced if so (see `disk-damage.ts`).
   */
  private withheld(kind: string, path: string, first: number, last: number): boolean {
    const other = this.damage?.elsewhere(this, path, first, last)
    if (other === undefined) return false
    this.faults.fired(`${kind}-withheld`)
    this.trace.record(this.process.scheduler.now, `${this.label} withheld ${kind} ${path} sectors ${first}..${last}: damaged on ${other}`)
    return true
  }

  /** Does `path` hold damage in sectors first..last (a latent sector, or bytes a fault left wrong)? */
  damagedIn(path: string, first: number, last: number): boolean {
    const inode = this.names.get(path)
    if (inode === undefined) return false
    for (const s of inode.latent) if (s >= first && s <= last) return true
    return inode.damaged.touches(first * this.sectorSize, (last + 1) * this.sectorSize)
  }

  private writeImage(inode: Inode, offset: number, data: Uint8Array): void {
    const size = this.sectorSize
    const fresh = new FreshSectors(size, Math.floor((offset + data.length - 1) / size))
    let written = 0
    while (written < data.length) {
      const position = offset + written
      const s = Math.floor(position / size)
      const within = position - s * size
      const take = Math.min(size - within, data.length - written)
      const sector = this.writableSector(inode, s, take === size, fresh)
      sector.set(data.subarray(written, written + take), within)
      inode.current.sectors.set(s, sector)
      inode.dirty.add(s)
      inode.latent.delete(s)
      written += take
    }
    inode.damaged.mend(offset, offset + data.length)
    inode.current.size = Math.max(inode.current.size, offset + data.length)
  }

  /**
   * The current image's sector `s`, ready to be written in place: an owned
   * sector as it is; any other (it may be the durable image's sector too) is
   * copied first, and from then on owned. A write covering the whole sector
   * needs none of the old bytes.
   */
  private writableSector(inode: Inode, s: number, whole: boolean, fresh: FreshSectors): Uint8Array {
    const old = inode.current.sectors.get(s)
    if (old !== undefined && inode.owned.has(s)) return old
    const sector = fresh.take(s)
    if (old !== undefined && !whole) sector.set(old)
    inode.owned.add(s)
    return sector
  }

  private truncateImage(inode: Inode, size: number): void {
    assert(size >= 0, "truncate size must be non-negative")
    const image = inode.current
    const sectorSize = this.sectorSize
    if (size < image.size) {
      for (const s of [...image.sectors.keys()]) {
        if (s * sectorSize >= size) {
          image.sectors.delete(s)
          inode.owned.delete(s)
          inode.dirty.add(s)
        } else if ((s + 1) * sectorSize > size) {
          const cut = image.sectors.get(s)!.slice()
          cut.fill(0, size - s * sectorSize)
          image.sectors.set(s, cut)
          inode.owned.add(s)
          inode.dirty.add(s)
        }
      }
    }
    image.size = size
    inode.damaged.truncate(size)
    inode.dirty.add(-1) // the size itself is dirty
  }

  private sync(path: string, inode: Inode): Effect.Effect<void, DiskSyncError> {
    if (this.random.chance(this.config.syncFailureRate)) {
      this.faults.fired("disk.fsync-failure")
      // The kernel dropped the dirty pages: the unsynced data is gone for good.
      inode.current = cloneImage(inode.durable)
      inode.dirty.clear()
      inode.owned.clear()
      return Effect.fail(new DiskSyncError({ path, message: "simulated fsync failure: unsynced data lost" }))
    }
    for (const s of inode.dirty) {
      if (s < 0) continue
      const sector = inode.current.sectors.get(s)
      const durable = inode.durable.sectors.get(s)
      if (sector === undefined) inode.durable.sectors.delete(s)
      else if (durable !== undefined && durable !== sector && inode.owned.has(s)) {
        // The durable image's own array takes the bytes: the current sector stays owned, so the
        // next small write (a log append) lands in place instead of copying the sector again.
        durable.set(sector)
      } else {
        inode.durable.sectors.set(s, sector)
        inode.owned.delete(s)
      }
    }
    inode.durable.size = inode.current.size
    inode.dirty.clear()
    return Effect.void
  }

  /** Can a write fill the disk? Not an unlimited one, which then needs no sum over its files per write. */
  private mayFill(): boolean {
    return this.config.capacityBytes < Number.MAX_SAFE_INTEGER
  }

  private usedBytes(): number {
    let used = 0
    const seen = new Set<number>()
    for (const inode of this.names.values()) {
      if (seen.has(inode.id)) continue
      seen.add(inode.id)
      used += inode.current.size
    }
    return used
  }

  private bind(path: string, inode: Inode | undefined): void {
    if (inode === undefined) this.names.delete(path)
    else this.names.set(path, inode)
    const dir = directoryOf(path)
    let dirty = this.dirtyNames.get(dir)
    if (dirty === undefined) {
      dirty = new Set()
      this.dirtyNames.set(dir, dirty)
    }
    dirty.add(path)
  }

  // ---- power loss -------------------------------------------------------------

  /**
   * Power loss: every unsynced sector, size change and name change lands or
   * is lost, independently. Returns how many sectors were lost.
   */
  crash(): number {
    let lost = 0
    const inodes = new Set<Inode>([...this.names.values(), ...this.durableNames.values()])
    for (const inode of inodes) {
      const dataSectors = [...inode.dirty].filter((s) => s >= 0).sort((a, b) => a - b)
      let landed = 0
      for (const s of dataSectors) {
        if (this.random.chance(0.5)) {
          const sector = inode.current.sectors.get(s)
          if (sector === undefined) inode.durable.sectors.delete(s)
          else inode.durable.sectors.set(s, sector)
          landed++
        } else {
          lost++
        }
      }
      if (landed > 0 && landed < dataSectors.length) this.faults.fired("disk.torn-write")
      if (inode.current.size !== inode.durable.size && this.random.chance(0.5)) inode.durable.size = inode.current.size
      // Sectors past the durable size are unreachable; drop them so a later extension reads zeros.
      for (const s of [...inode.durable.sectors.keys()]) {
        if (s * this.sectorSize >= inode.durable.size) inode.durable.sectors.delete(s)
      }
      inode.dirty.clear()
      inode.owned.clear()
      inode.current = cloneImage(inode.durable)
    }
    if (lost > 0) this.faults.fired("disk.lost-unsynced-write")
    for (const dirty of this.dirtyNames.values()) {
      for (const name of dirty) {
        if (!this.random.chance(0.5)) continue
        const inode = this.names.get(name)
        if (inode === undefined) this.durableNames.delete(name)
        else this.durableNames.set(name, inode)
      }
    }
    this.dirtyNames.clear()
    this.names.clear()
    for (const [name, inode] of this.durableNames) this.names.set(name, inode)
    this.durableNames = new Map(this.durableNames)
    return lost
  }

  // ---- inspection, for tests and checkers ---------------------------------------

  /** What a read of the whole file would return now, bypassing faults. */
  peek(path: string): Uint8Array | undefined {
    const inode = this.names.get(path)
    if (inode === undefined) return undefined
    const out = new Uint8Array(inode.current.size)
    for (const [s, sector] of inode.current.sectors) {
      const start = s * this.sectorSize
      if (start < out.length) out.set(sector.subarray(0, Math.min(this.sectorSize, out.length - start)), start)
    }
    return out
  }

  /** Does the file have unsynced data or size? */
  hasUnsynced(path: string): boolean {
    const inode = this.names.get(path)
    return inode !== undefined && inode.dirty.size > 0
  }
}
