/**
 * The Disk service over io_uring, through the hand-written Node-API addon in
 * `runtime-node/native/io_uring.c` (see docs/adr/0007-io-uring-disk.md).
 *
 * Data path: open, read, write, fdatasync/fsync and close are io_uring
 * operations. Operations issued in one JavaScript turn are submitted with one
 * `io_uring_enter` (flushed from a microtask); completions come back in
 * batches from the addon's completion thread. A `sync` that finds writes of
 * the same file still waiting to be submitted links them to its fsync
 * (IOSQE_IO_LINK), so the kernel orders write → fsync and the whole group
 * commit costs one syscall.
 *
 * Namespace operations (mkdir, rename, unlink, readdir, ftruncate) go through
 * libuv (`node:fs`): they are rare, and io_uring lacks some of them on older
 * kernels.
 *
 * `sync` is fdatasync, or fsync when the file's size changed since the last
 * sync (a write past the end, or a truncate). Concurrent syncs of one file
 * share fsyncs: at most one runs, and all callers that arrive meanwhile share
 * the next. `syncDirectory` opens the
 * directory and fsyncs it. Parent directories are created on demand, and the
 * directories that hold them are synced so the new directories are durable.
 *
 * `makeNodeDisk` picks this implementation when the addon loads and the
 * kernel lets us set up a ring with the operations we need; otherwise (old
 * kernel, seccomp in a container: ENOSYS/EPERM, no compiler at install time)
 * it falls back to `libuvDisk` and says why. `CAIRN_DISK=libuv` forces the
 * fallback, `CAIRN_DISK=io_uring` makes a missing io_uring an error.
 */
import {
  assert,
  Disk,
  DiskFullError,
  DiskIOError,
  DiskSyncError,
  FileExistsError,
  FileNotFoundError,
  type DiskFile,
  type DiskShape,
  type OpenMode
} from "@cairn/core"
import { Effect, Layer } from "effect"
import { constants as fsConstants, ftruncate } from "node:fs"
import { createRequire } from "node:module"
import { constants as osConstants } from "node:os"
import { dirname, join, resolve } from "node:path"
import { libuvDisk } from "./libuv-disk.ts"
import { makeDirectories, makeDirectoriesSync } from "./make-directories.ts"

/** The addon's surface (native/io_uring.c). */
interface Ring {
  readonly __ring: unique symbol
}
interface Binding {
  readonly create: (entries: number, onCompletions: (batch: Int32Array) => void) => Ring
  readonly supports: (ring: Ring, opcode: number) => boolean
  readonly capacity: (ring: Ring) => number
  readonly prepRw: (
    ring: Ring,
    id: number,
    fd: number,
    sqeFlags: number,
    write: boolean,
    buffer: Uint8Array,
    offset: number
  ) => void
  readonly prepFsync: (ring: Ring, id: number, fd: number, sqeFlags: number, datasync: boolean) => void
  readonly prepOpen: (
    ring: Ring,
    id: number,
    dirfd: number,
    sqeFlags: number,
    path: Uint8Array,
    flags: number,
    mode: number
  ) => void
  readonly prepClose: (ring: Ring, id: number, fd: number, sqeFlags: number) => void
  /** Submits every prepared SQE; returns the completions already available. */
  readonly submit: (ring: Ring) => Int32Array
  readonly fileSize: (fd: number) => number
  readonly closeRing: (ring: Ring) => void
  readonly IOSQE_IO_LINK: number
  readonly IORING_OP_READ: number
  readonly IORING_OP_WRITE: number
  readonly IORING_OP_FSYNC: number
  readonly IORING_OP_OPENAT: number
  readonly IORING_OP_CLOSE: number
}

const AT_FDCWD = -100
const errnoName = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]))
/** "ENOENT (-2)" for a negative io_uring result. */
const describeErrno = (res: number): string => `${errnoName.get(-res) ?? "E?"} (${-res})`
const { ENOENT, EEXIST, ENOSPC, EDQUOT, ECANCELED, EIO } = osConstants.errno

let cachedBinding: Binding | Error | undefined
/** Loads the addon once; an Error says why it is unusable. */
export const loadIoUringBinding = (): Binding | Error => {
  if (cachedBinding !== undefined) return cachedBinding
  try {
    const require = createRequire(import.meta.url)
    cachedBinding = require("../../build/Release/cairn_io_uring.node") as Binding
  } catch (e) {
    // Not built is the usual case: `npm ci` skips the addon where there is no C compiler (native/install.js).
    const notBuilt = typeof e === "object" && e !== null && "code" in e && e.code === "MODULE_NOT_FOUND"
    cachedBinding = new Error(
      notBuilt
        ? "io_uring addon not built (no C compiler at `npm ci`? `npm run build:native -w runtime-node` builds it)"
        : `io_uring addon not loadable (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`
    )
  }
  return cachedBinding
}

/** One SQE's worth of work; `prep` writes it into the ring with the given SQE flags. */
interface Op {
  readonly prep: (id: number, sqeFlags: number) => void
  readonly done: (res: number) => void
}

/**
 * The submission side: a ring, a queue of operation groups waiting for ring
 * space, and the completion dispatch. A group is one op, or a chain the
 * kernel runs in order (IOSQE_IO_LINK on all but the last).
 */
interface Uring {
  readonly ring: Ring
  readonly enqueue: (group: ReadonlyArray<Op>) => void
  /** Removes and returns the queued (not yet submitted) ops that match. */
  readonly extractQueued: (match: (op: Op) => boolean) => Array<Op>
  readonly close: () => void
  /** Counters for tests and diagnostics. */
  readonly stats: {
    submits: number
    sqes: number
    completions: number
    /** Completions returned by the submitting io_uring_enter itself (no thread hop). */
    inlineCompletions: number
    linkedChains: number
    fsyncs: number
  }
}

const makeUring = (binding: Binding, entries: number): Uring => {
  const callbacks = new Map<number, (res: number) => void>()
  let nextId = 1
  let inflight = 0
  let flushScheduled = false
  let closed = false
  const queue: Array<ReadonlyArray<Op>> = []
  const stats = { submits: 0, sqes: 0, completions: 0, inlineCompletions: 0, linkedChains: 0, fsyncs: 0 }

  const onCompletions = (batch: Int32Array) => {
    for (let i = 0; i < batch.length; i += 2) {
      const id = batch[i]! >>> 0
      const cb = callbacks.get(id)
      assert(cb !== undefined, `io_uring completion for unknown id ${id}`)
      callbacks.delete(id)
      inflight--
      stats.completions++
      cb(batch[i + 1]!)
    }
    if (queue.length > 0) scheduleFlush()
  }
  const ring = binding.create(entries, onCompletions)
  const capacity = binding.capacity(ring)

  const flush = () => {
    flushScheduled = false
    if (closed) return
    let prepared = 0
    while (queue.length > 0 && inflight + queue[0]!.length <= capacity) {
      const group = queue.shift()!
      if (group.length > 1) stats.linkedChains++
      group.forEach((op, i) => {
        const id = nextId
        nextId = nextId >= 0xffff_fffe ? 1 : nextId + 1
        callbacks.set(id, op.done)
        op.prep(id, i < group.length - 1 ? binding.IOSQE_IO_LINK : 0)
        inflight++
        prepared++
      })
    }
    if (prepared === 0) return
    // Every prepared SQE fits (inflight <= capacity = SQ size), so one enter takes them all.
    const inline = binding.submit(ring)
    stats.submits++
    stats.sqes += prepared
    stats.inlineCompletions += inline.length / 2
    if (inline.length > 0) onCompletions(inline)
  }
  const scheduleFlush = () => {
    if (flushScheduled) return
    flushScheduled = true
    queueMicrotask(flush)
  }

  return {
    ring,
    stats,
    enqueue: (group) => {
      assert(!closed, "io_uring disk used after close")
      assert(group.length > 0 && group.length <= capacity, `io_uring group of ${group.length} ops`)
      queue.push(group)
      scheduleFlush()
    },
    extractQueued: (match) => {
      const out: Array<Op> = []
      for (let g = queue.length - 1; g >= 0; g--) {
        const group = queue[g]!
        if (group.length === 1 && match(group[0]!)) {
          out.unshift(group[0]!)
          queue.splice(g, 1)
        }
      }
      return out
    },
    close: () => {
      if (closed) return
      closed = true
      binding.closeRing(ring)
    }
  }
}

/** Runs one op and resolves with its raw result (>= 0, or -errno). */
const run1 = (uring: Uring, prep: Op["prep"]): Promise<number> =>
  new Promise((done) => uring.enqueue([{ prep, done }]))

interface OpenFile {
  readonly fd: number
  readonly path: string
  closed: boolean
  /** The size we believe the kernel has (every write and truncate issued so far). */
  size: number
  /** The size changed since the last successful sync: fsync, not fdatasync. */
  sizeChanged: boolean
  /** A write failed since the last sync: that data is lost, so the next sync fails. */
  writeFailed: boolean
  /** Write SQEs of this file submitted to the kernel and not yet completed. */
  inKernelWrites: number
  /** Results of ops not yet completed (close waits for them; sync waits for writes). */
  readonly pendingWrites: Set<Promise<number>>
  readonly pendingOps: Set<Promise<unknown>>
}

export interface IoUringDiskOptions {
  /** Ring size (submission queue entries). Default 256. */
  readonly entries?: number
  readonly sectorSize?: number
}

export interface IoUringDisk extends DiskShape {
  readonly stats: Uring["stats"]
  /** Stops the completion thread and closes the ring. */
  readonly shutdown: () => void
}

/** A Disk over the directory `root` through io_uring; throws if io_uring is unusable. */
export const ioUringDisk = (root: string, options: IoUringDiskOptions = {}): IoUringDisk => {
  const binding = loadIoUringBinding()
  if (binding instanceof Error) throw binding
  const uring = makeUring(binding, options.entries ?? 256)
  const ring = uring.ring
  for (const op of ["READ", "WRITE", "FSYNC", "OPENAT", "CLOSE"] as const) {
    // Probing needs a ring; a kernel without these opcodes (< 5.6) gets the fallback.
    if (!binding.supports(uring.ring, binding[`IORING_OP_${op}`])) {
      uring.close()
      throw new Error(`io_uring lacks IORING_OP_${op} on this kernel`)
    }
  }
  const rootAbs = resolve(root)
  makeDirectoriesSync(rootAbs)
  const abs = (path: string) => {
    assert(!path.startsWith("/") && !path.split("/").includes(".."), `disk path escapes the data directory: ${path}`)
    return path === "" ? rootAbs : join(rootAbs, path)
  }
  const cString = (s: string) => {
    const bytes = Buffer.from(s + "\0", "utf8")
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
  }

  const openRaw = (absPath: string, flags: number, mode: number): Promise<number> => {
    const path = cString(absPath)
    return run1(uring, (id, f) => binding.prepOpen(ring, id, AT_FDCWD, f, path, flags, mode))
  }
  const closeRaw = (fd: number): Promise<number> => run1(uring, (id, f) => binding.prepClose(ring, id, fd, f))
  const fsyncRaw = (fd: number, datasync: boolean): Promise<number> =>
    run1(uring, (id, f) => binding.prepFsync(ring, id, fd, f, datasync))

  /** fsyncs a directory; ENOENT means nothing was ever created there. */
  const syncDir = async (absDir: string): Promise<number> => {
    const fd = await openRaw(absDir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY, 0)
    if (fd === -ENOENT) return 0
    if (fd < 0) return fd
    const res = await fsyncRaw(fd, false)
    await closeRaw(fd)
    return res
  }

  /** mkdir -p, then fsync the parent of every directory it created. */
  const ensureDir = async (absDir: string): Promise<void> => {
    const first = await makeDirectories(absDir)
    if (first === undefined) return
    for (let d = resolve(first); ; d = join(d, absDir.slice(d.length + 1).split("/")[0]!)) {
      const res = await syncDir(dirname(d))
      if (res < 0) throw Object.assign(new Error(`fsync ${dirname(d)}: ${describeErrno(res)}`), { errno: -res })
      if (d === absDir) break
    }
  }

  const track = <A>(file: OpenFile, p: Promise<A>): Promise<A> => {
    file.pendingOps.add(p)
    const forget = () => void file.pendingOps.delete(p)
    p.then(forget, forget) // handles the rejection here too: the caller sees it through `p`
    return p
  }

  const closedError = (file: OpenFile, op: DiskIOError["op"]) =>
    new DiskIOError({ op, path: file.path, message: "file handle is closed" })

  const handle = (file: OpenFile): DiskFile => {
    const { fd, path } = file

    const read = (offset: number, length: number) =>
      Effect.tryPromise({
        try: () =>
          track(
            file,
            (async () => {
              if (file.closed) throw closedError(file, "read")
              const buffer = new Uint8Array(length)
              let got = 0
              while (got < length) {
                const part = buffer.subarray(got)
                const res = await run1(uring, (id, f) => binding.prepRw(ring, id, fd, f, false, part, offset + got))
                if (res < 0) throw new DiskIOError({ op: "read", path, offset, message: `read: ${describeErrno(res)}` })
                if (res === 0) break // end of file
                got += res
              }
              return got === length ? buffer : buffer.subarray(0, got)
            })()
          ),
        catch: (e) => (e instanceof DiskIOError ? e : new DiskIOError({ op: "read", path, offset, message: String(e) }))
      })

    const writeOp = (data: Uint8Array, offset: number, settle: (res: number) => void): Op => ({
      prep: (id, f) => {
        binding.prepRw(ring, id, fd, f, true, data, offset)
        file.inKernelWrites++
      },
      done: (res) => {
        file.inKernelWrites--
        settle(res)
      }
    })
    const isWriteOp = new WeakSet<Op>()

    const write = (offset: number, data: Uint8Array) =>
      Effect.tryPromise({
        try: () => {
          if (file.closed) return Promise.reject(closedError(file, "write"))
          const end = offset + data.length
          if (end > file.size) {
            file.size = end
            file.sizeChanged = true
          }
          const whole = (async () => {
            let done = 0
            while (done < data.length) {
              const part = data.subarray(done)
              const res = await new Promise<number>((settle) => {
                const op = writeOp(part, offset + done, settle)
                isWriteOp.add(op)
                uring.enqueue([op])
              })
              if (res <= 0) {
                file.writeFailed = true
                return res === 0 ? -EIO : res
              }
              done += res
            }
            return data.length
          })()
          file.pendingWrites.add(whole)
          void whole.finally(() => file.pendingWrites.delete(whole))
          return track(file, whole).then((res) => {
            if (res >= 0) return
            const message = `write: ${describeErrno(res)}`
            throw -res === ENOSPC || -res === EDQUOT
              ? new DiskFullError({ path, message })
              : new DiskIOError({ op: "write", path, offset, message })
          })
        },
        catch: (e) =>
          e instanceof DiskIOError || e instanceof DiskFullError
            ? e
            : new DiskIOError({ op: "write", path, offset, message: String(e) })
      })

    /**
     * One fsync covering every write of this file issued before the call (not
     * the ones issued after it: with steady writers that would never end).
     * Writes already in the kernel are not ordered before a new SQE, so they
     * are waited for; when all of them are still waiting for submission they
     * are chained in front of the fsync instead, and the kernel runs
     * write → … → fsync in order from one io_uring_enter.
     */
    const fsyncOnce = async (): Promise<number> => {
      const earlier = [...file.pendingWrites]
      if (earlier.length > 0 && file.inKernelWrites === 0) {
        // Each pending write has at most one op outstanding; none is in the kernel.
        const queued = uring.extractQueued((op) => isWriteOp.has(op))
        if (queued.length === earlier.length) {
          const full = file.sizeChanged
          file.sizeChanged = false
          uring.stats.fsyncs++
          const res = await new Promise<number>((settle) => {
            const fsync: Op = { prep: (id, f) => binding.prepFsync(ring, id, fd, f, !full), done: settle }
            uring.enqueue([...queued, fsync])
          })
          if (res < 0) file.sizeChanged ||= full
          return res
        }
        for (const op of queued) uring.enqueue([op]) // a write is between two parts: wait instead
      }
      if (earlier.length > 0) await Promise.all(earlier)
      const full = file.sizeChanged
      file.sizeChanged = false
      uring.stats.fsyncs++
      const res = await fsyncRaw(fd, !full)
      if (res < 0) file.sizeChanged ||= full
      return res
    }

    /** One durable sync: fsync, re-run if a cut chain cancelled it, fail if an earlier write failed. */
    const runSync = async (): Promise<void> => {
      let res = await fsyncOnce()
      // A chain whose write came back short is cut: the fsync never ran. Run it again.
      for (let tries = 0; res === -ECANCELED && tries < 100; tries++) res = await fsyncOnce()
      if (res < 0) throw new DiskSyncError({ path, message: `fsync: ${describeErrno(res)}` })
      if (file.writeFailed) {
        file.writeFailed = false
        throw new DiskSyncError({ path, message: "an earlier write to this file failed; its data is not durable" })
      }
    }

    /**
     * Group commit at the file: at most one fsync of this file in flight. A
     * sync that arrives while one runs cannot ride on it (its writes may have
     * come too late), so it waits for the next one, which every caller that
     * arrives meanwhile shares. Without this, N concurrent syncs become N
     * concurrent fsyncs of one file in the kernel's io-wq workers, which then
     * contend on the inode.
     */
    let running: Promise<void> | undefined
    let next: Promise<void> | undefined
    const launch = (): Promise<void> => {
      const p = runSync()
      running = p
      const done = () => {
        if (running === p) running = undefined
      }
      p.then(done, done)
      return p
    }
    const groupSync = (): Promise<void> => {
      if (next !== undefined) return next
      if (running === undefined) return launch()
      const ignore = () => {}
      next = running.then(ignore, ignore).then(() => {
        next = undefined
        return launch()
      })
      return next
    }

    const sync = Effect.tryPromise({
      try: () => {
        if (file.closed) return Promise.reject(new DiskSyncError({ path, message: "file handle is closed" }))
        return track(file, groupSync())
      },
      catch: (e) => (e instanceof DiskSyncError ? e : new DiskSyncError({ path, message: String(e) }))
    })

    return {
      path,
      read,
      write,
      sync,
      size: Effect.try({
        try: () => {
          if (file.closed) throw closedError(file, "size")
          return binding.fileSize(fd)
        },
        catch: (e) => (e instanceof DiskIOError ? e : new DiskIOError({ op: "size", path, message: String(e) }))
      }),
      truncate: (size) =>
        Effect.tryPromise({
          try: () =>
            track(
              file,
              new Promise<void>((ok, fail) => {
                if (file.closed) return fail(closedError(file, "truncate"))
                if (size !== file.size) file.sizeChanged = true
                file.size = size
                // No portable io_uring ftruncate before Linux 6.9: libuv's threadpool does it.
                ftruncate(fd, size, (e) => (e === null ? ok() : fail(e)))
              })
            ),
          catch: (e) => (e instanceof DiskIOError ? e : new DiskIOError({ op: "truncate", path, message: String(e) }))
        }),
      close: Effect.promise(async () => {
        if (file.closed) return
        file.closed = true
        // The fd number is reused once closed: let every op already issued finish first.
        while (file.pendingOps.size > 0) await Promise.allSettled([...file.pendingOps])
        await closeRaw(fd)
      })
    }
  }

  const openFlags: Record<OpenMode, number> = {
    existing: fsConstants.O_RDWR,
    create: fsConstants.O_RDWR | fsConstants.O_CREAT,
    "create-new": fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL
  }

  const open = (path: string, mode: OpenMode) =>
    Effect.tryPromise({
      try: async () => {
        const target = abs(path)
        let fd = await openRaw(target, openFlags[mode], 0o644)
        if (fd === -ENOENT && mode !== "existing") {
          await ensureDir(dirname(target))
          fd = await openRaw(target, openFlags[mode], 0o644)
        }
        if (fd < 0) throw fd
        const file: OpenFile = {
          fd,
          path,
          closed: false,
          size: binding.fileSize(fd),
          sizeChanged: false,
          writeFailed: false,
          inKernelWrites: 0,
          pendingWrites: new Set(),
          pendingOps: new Set()
        }
        return handle(file)
      },
      catch: (e) => {
        const err = typeof e === "number" ? -e : errnoOf(e)
        if (err === ENOENT) return new FileNotFoundError({ path })
        if (err === EEXIST) return new FileExistsError({ path })
        const message = typeof e === "number" ? `open: ${describeErrno(e)}` : String(e)
        if (err === ENOSPC || err === EDQUOT) return new DiskFullError({ path, message })
        return new DiskIOError({ op: "open", path, message })
      }
    })

  const namespace = libuvDisk(root)
  return {
    sectorSize: options.sectorSize ?? 4096,
    stats: uring.stats,
    shutdown: () => uring.close(),
    open,
    // Namespace operations are not on the data path: the libuv disk does them, for both backends.
    remove: namespace.remove,
    rename: namespace.rename,
    list: namespace.list,
    syncDirectory: (dir) =>
      Effect.tryPromise({
        try: async () => {
          const res = await syncDir(abs(dir))
          if (res < 0) throw new DiskSyncError({ path: dir, message: `fsync directory: ${describeErrno(res)}` })
        },
        catch: (e) => (e instanceof DiskSyncError ? e : new DiskSyncError({ path: dir, message: String(e) }))
      })
  }
}

/** errno of a node:fs error or of an addon error (positive), if any. */
const errnoOf = (e: unknown): number | undefined => {
  if (typeof e !== "object" || e === null) return undefined
  if ("code" in e && typeof e.code === "string") {
    const n = (osConstants.errno as Record<string, number | undefined>)[e.code]
    if (n !== undefined) return n
  }
  return "errno" in e && typeof e.errno === "number" ? Math.abs(e.errno) : undefined
}

/** Which implementation `makeNodeDisk` chose, and why. */
export interface NodeDisk {
  readonly disk: DiskShape
  readonly backend: "io_uring" | "libuv"
  readonly reason: string
  readonly shutdown: () => void
}

/**
 * The production Disk rooted at `root`: io_uring when usable, libuv
 * otherwise. `prefer` (default from CAIRN_DISK, else "auto") forces a choice.
 */
export const makeNodeDisk = (
  root: string,
  prefer: "auto" | "io_uring" | "libuv" = envPreference(),
  options: IoUringDiskOptions = {}
): NodeDisk => {
  if (prefer !== "libuv") {
    try {
      const disk = ioUringDisk(root, options)
      return { disk, backend: "io_uring", reason: "io_uring ring set up", shutdown: disk.shutdown }
    } catch (e) {
      if (prefer === "io_uring") throw e
      const reason = e instanceof Error ? e.message : String(e)
      return { disk: libuvDisk(root), backend: "libuv", reason, shutdown: () => {} }
    }
  }
  makeDirectoriesSync(resolve(root))
  return { disk: libuvDisk(root), backend: "libuv", reason: "CAIRN_DISK=libuv", shutdown: () => {} }
}

const envPreference = (): "auto" | "io_uring" | "libuv" => {
  const v = process.env["CAIRN_DISK"]
  return v === "io_uring" || v === "libuv" ? v : "auto"
}

/**
 * The Disk service rooted at `root`; logs which backend is in use, tells `onChosen` (the server's metrics and
 * status report it), and closes the ring with the layer.
 */
export const diskLayer = (
  root: string,
  prefer?: "auto" | "io_uring" | "libuv",
  onChosen: (backend: NodeDisk["backend"]) => void = () => {}
): Layer.Layer<Disk> =>
  Layer.effect(
    Disk,
    Effect.acquireRelease(
      Effect.sync(() => makeNodeDisk(root, prefer)).pipe(
        Effect.tap((d) => Effect.logInfo(`disk: ${d.backend} (${d.reason}) at ${resolve(root)}`)),
        Effect.tap((d) => Effect.sync(() => onChosen(d.backend)))
      ),
      (d) => Effect.sync(d.shutdown)
    ).pipe(Effect.map((d) => d.disk))
  )
