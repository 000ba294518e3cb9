/**
 * Object shards on a node's disk, each stored with its checksum and verified
 * on every read: a shard is returned whole and intact or not at all.
 *
 * A shard is written atomically (temporary file, fsync, rename, directory
 * fsync), so after a crash it is either the old version, the new one, or
 * absent, never a mix; writes of one id run one at a time. Format, version 1 (little-endian): u32 header CRC32C
 * (over bytes 4..32), u32 magic "CSH1", u32 format version, u32 data CRC32C,
 * u64 data length, u64 reserved, then the data.
 */
import { Data, Effect, Result, Semaphore } from "effect"
import { type Crc32cShape, pureCrc32c, withCrc32c } from "../checksum/crc32c-service.ts"
import { Disk } from "../disk/disk.ts"
import type { DiskError } from "../disk/disk-error.ts"

const MAGIC = 0x31485343 // "CSH1"
const VERSION = 1
const HEADER = 32
const TWO_32 = 0x1_0000_0000
const ID = /^[A-Za-z0-9._-]{1,200}$/

export class ShardNotFoundError extends Data.TaggedError("ShardNotFoundError")<{ readonly id: string }> {}

/** The stored bytes do not match their checksum: never served; fetch or rebuild the shard elsewhere. */
export class ShardCorruptError extends Data.TaggedError("ShardCorruptError")<{
  readonly id: string
  readonly reason: "header" | "checksum" | "length"
}> {}

/** The device failed the read (EIO, a latent sector error). */
export class ShardReadError extends Data.TaggedError("ShardReadError")<{ readonly id: string; readonly message: string }> {}

export class ShardWriteError extends Data.TaggedError("ShardWriteError")<{ readonly id: string; readonly message: string }> {}

export class ShardDiskFullError extends Data.TaggedError("ShardDiskFullError")<{ readonly id: string; readonly message: string }> {}

export class ShardIdError extends Data.TaggedError("ShardIdError")<{ readonly id: string }> {}

export type ShardGetError = ShardNotFoundError | ShardCorruptError | ShardReadError | ShardIdError

export interface ShardStoreConfig {
  readonly dir?: string
}

export interface ShardStore {
  /** Stores (or replaces) a shard durably. */
  readonly put: (id: string, data: Uint8Array) => Effect.Effect<void, ShardWriteError | ShardDiskFullError | ShardIdError>
  /** Reads a shard, verifying its checksum. */
  readonly get: (id: string) => Effect.Effect<Uint8Array, ShardGetError>
  readonly remove: (id: string) => Effect.Effect<void, ShardNotFoundError | ShardWriteError | ShardIdError>
  /** Ids of the stored shards, sorted. */
  readonly list: Effect.Effect<ReadonlyArray<string>, ShardReadError>
}

const describe = (e: DiskError) => `${e._tag}${"message" in e ? `: ${e.message}` : ""}`

/** A shard's stored image; `checksum` only changes how fast, never what (see crc32c-service.ts). */
export const encodeShard = (data: Uint8Array, checksum: Crc32cShape = pureCrc32c): Uint8Array => {
  const { crc32c } = checksum
  const out = new Uint8Array(HEADER + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(4, MAGIC, true)
  view.setUint32(8, VERSION, true)
  view.setUint32(12, crc32c(data), true)
  view.setUint32(16, data.length % TWO_32, true)
  view.setUint32(20, Math.floor(data.length / TWO_32), true)
  view.setUint32(0, crc32c(out, 4, HEADER), true)
  out.set(data, HEADER)
  return out
}

/** Verifies a stored shard image: its data, or why it is damaged. */
export const decodeShard = (bytes: Uint8Array, checksum: Crc32cShape = pureCrc32c): Uint8Array | ShardCorruptError["reason"] => {
  const { crc32c } = checksum
  if (bytes.length < HEADER) return "header"
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER)
  if (view.getUint32(4, true) !== MAGIC || view.getUint32(8, true) !== VERSION) return "header"
  if (view.getUint32(0, true) !== crc32c(bytes, 4, HEADER)) return "header"
  const length = view.getUint32(16, true) + view.getUint32(20, true) * TWO_32
  if (bytes.length !== HEADER + length) return "length"
  if (crc32c(bytes, HEADER) !== view.getUint32(12, true)) return "checksum"
  return bytes.slice(HEADER)
}

export const makeShardStore = (config: ShardStoreConfig = {}): Effect.Effect<ShardStore, ShardReadError, Disk> =>
  Effect.gen(function* () {
    // The checksum (the Crc32c service) is read with the Disk, in the operations reading the Disk alone took.
    const [disk, checksum] = yield* withCrc32c(Disk)
    const dir = config.dir ?? "shards"
    const path = (id: string) => `${dir}/${id}.shard`

    const names = yield* Effect.mapError(disk.list(dir), (e) => new ShardReadError({ id: dir, message: describe(e) }))
    const leftovers = names.filter((n) => n.endsWith(".tmp"))
    for (const n of leftovers) yield* Effect.ignore(disk.remove(`${dir}/${n}`))
    if (leftovers.length > 0) yield* Effect.ignore(disk.syncDirectory(dir))

    const checkId = (id: string) => (ID.test(id) ? Effect.void : Effect.fail(new ShardIdError({ id })))

    /**
     * Puts and removes of one id run one at a time. Two puts of one id do
     * arrive at once (a duplicated request, a retry overtaking its first
     * try): sharing the temporary file, one's truncate, crash or failed
     * fsync (which drops the file's unsynced pages) left the other renaming,
     * and acknowledging, an empty or torn shard (objects seed 115); and one's
     * failed directory sync undid the other's rename.
     */
    const locks = new Map<string, { readonly lock: Semaphore.Semaphore; users: number }>()
    const exclusive = <A, E>(id: string, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.suspend(() => {
        let entry = locks.get(id)
        if (entry === undefined) locks.set(id, (entry = { lock: Semaphore.makeUnsafe(1), users: 0 }))
        const held = entry
        held.users++
        return Effect.ensuring(
          held.lock.withPermits(1)(effect),
          Effect.sync(() => {
            if (--held.users === 0) locks.delete(id)
          })
        )
      })

    const put = (id: string, data: Uint8Array) =>
      exclusive(id, Effect.gen(function* () {
        yield* checkId(id)
        const tmp = `${path(id)}.tmp`
        const fail = (e: DiskError) =>
          e._tag === "DiskFullError" ? new ShardDiskFullError({ id, message: e.message }) : new ShardWriteError({ id, message: describe(e) })
        const written = yield* Effect.result(
          Effect.gen(function* () {
            const file = yield* Effect.mapError(disk.open(tmp, "create"), fail)
            yield* Effect.mapError(file.truncate(0), fail)
            yield* Effect.mapError(file.write(0, encodeShard(data, checksum)), fail)
            yield* Effect.mapError(file.sync, fail)
            yield* file.close
          })
        )
        if (Result.isFailure(written)) {
          yield* Effect.ignore(disk.remove(tmp))
          return yield* Effect.fail(written.failure)
        }
        yield* Effect.mapError(disk.rename(tmp, path(id)), fail)
        yield* Effect.mapError(disk.syncDirectory(dir), fail)
      }))

    const get = (id: string) =>
      Effect.gen(function* () {
        yield* checkId(id)
        const file = yield* Effect.mapError(disk.open(path(id), "existing"), (e) =>
          e._tag === "FileNotFoundError" ? new ShardNotFoundError({ id }) : new ShardReadError({ id, message: describe(e) })
        )
        const bytes = yield* Effect.mapError(
          Effect.flatMap(file.size, (size) => file.read(0, size)),
          (e) => new ShardReadError({ id, message: describe(e) })
        )
        yield* file.close
        const decoded = decodeShard(bytes, checksum)
        if (typeof decoded === "string") return yield* Effect.fail(new ShardCorruptError({ id, reason: decoded }))
        return decoded
      })

    const remove = (id: string) =>
      exclusive(id, Effect.gen(function* () {
        yield* checkId(id)
        yield* Effect.mapError(disk.remove(path(id)), (e) =>
          e._tag === "FileNotFoundError" ? new ShardNotFoundError({ id }) : new ShardWriteError({ id, message: describe(e) })
        )
        yield* Effect.mapError(disk.syncDirectory(dir), (e) => new ShardWriteError({ id, message: describe(e) }))
      }))

    const list = Effect.map(
      Effect.mapError(disk.list(dir), (e) => new ShardReadError({ id: dir, message: describe(e) })),
      (ns) => ns.filter((n) => n.endsWith(".shard")).map((n) => n.slice(0, -".shard".length))
    )

    const store: ShardStore = { put, get, remove, list }
    return store
  })
