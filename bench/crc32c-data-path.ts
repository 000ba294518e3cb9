/**
 * Part of `npm run bench -- crc32c`: what the Crc32c service saves on the
 * object data path, measured in process so that a loaded machine blurs it
 * less than the end-to-end s3 bench does.
 *
 * A 16 MiB body is written and read back through core's `ObjectData` as on
 * a one-node server (1 MiB chunks without parity), over an in-memory shard
 * transfer that encodes and decodes each shard with the shard store's own
 * format (`encodeShard`/`decodeShard`, whose CRCs are the store's); no disk,
 * no network, no S3 (its MD5 and SHA-256 are not CRC work). So the figures
 * are the CPU of the body's own path: the running CRC, the shard CRCs, the
 * store's CRCs, copying and Effect. Baseline: the same with core's pure
 * CRC32C, alternating with the native one round by round; each figure is
 * the median over the rounds of process CPU (user + system) per operation.
 */
import { type Crc32cShape, pureCrc32c } from "@cairn/core/checksum/crc32c-service"
import { makeObjectData } from "@cairn/core/object/object-data"
import { ShardTransferError, type ShardTransfer } from "@cairn/core/object/shard-transfer"
import { decodeShard, encodeShard } from "@cairn/core/shard-store/shard-store"
import { nativeCrc32c } from "@cairn/runtime-node/checksum/native-crc32c"
import { Effect, Stream } from "effect"

const MiB = 1024 * 1024

/** Shards as the store would keep them (its image, checked on every get), in a map. */
const storeLikeTransfer = (checksum: Crc32cShape): ShardTransfer => {
  const images = new Map<string, Uint8Array>()
  return {
    put: (node, id, data) => Effect.sync(() => void images.set(`${node}/${id}`, encodeShard(data, checksum))),
    get: (node, id) =>
      Effect.suspend(() => {
        const image = images.get(`${node}/${id}`)
        const data = image === undefined ? "missing" : decodeShard(image, checksum)
        return typeof data === "string" ? Effect.fail(new ShardTransferError({ node, id, reason: "corrupt", message: data })) : Effect.succeed(data)
      }),
    remove: (node, id) => Effect.sync(() => void images.delete(`${node}/${id}`)),
    onFrame: () => Effect.void
  }
}

const cpuMs = (): number => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** CPU ms of one put and one get of `body` with `checksum`. */
const roundTrip = async (checksum: Crc32cShape, body: Uint8Array, n: number): Promise<{ readonly put: number; readonly get: number }> => {
  const data = makeObjectData({ transfer: storeLikeTransfer(checksum), nodes: () => [{ id: "n1", domain: "n1" }], scheme: Effect.succeed(undefined), checksum })
  const chunks = Array.from({ length: body.length / MiB }, (_, i) => body.subarray(i * MiB, (i + 1) * MiB))
  const t0 = cpuMs()
  const written = await Effect.runPromise(data.write(`b${n}`, Stream.fromIterable(chunks), body.length))
  const t1 = cpuMs()
  let bytes = 0
  await Effect.runPromise(Stream.runForEach(data.read(written.body, body.length, { start: 0, end: body.length }, written.crc32c), (c) => Effect.sync(() => void (bytes += c.length))))
  const t2 = cpuMs()
  if (bytes !== body.length || written.crc32c !== pureCrc32c.crc32c(body)) throw new Error(`${checksum.implementation}: wrong round trip`)
  return { put: t1 - t0, get: t2 - t1 }
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** Rows for the pure baseline and the native layer, rounds alternating. */
export const dataPathRows = async (rounds: number): Promise<ReadonlyArray<Record<string, string | number>>> => {
  const body = new Uint8Array(16 * MiB)
  for (let i = 0; i < body.length; i++) body[i] = (i * 2654435761) >>> 24
  const impls = [pureCrc32c, nativeCrc32c]
  const samples = impls.map(() => ({ put: [] as Array<number>, get: [] as Array<number> }))
  for (const [i, impl] of impls.entries()) await roundTrip(impl, body, -1 - i) // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const [i, impl] of impls.entries()) {
      const { put, get } = await roundTrip(impl, body, r)
      samples[i]!.put.push(put)
      samples[i]!.get.push(get)
    }
  }
  const base = { put: median(samples[0]!.put), get: median(samples[0]!.get) }
  return impls.map((impl, i) => {
    const put = median(samples[i]!.put)
    const get = median(samples[i]!.get)
    return {
      checksum: i === 0 ? `${impl.implementation} (baseline)` : impl.implementation,
      "put CPU ms / 16 MiB": Number(put.toFixed(1)),
      "get CPU ms / 16 MiB": Number(get.toFixed(1)),
      "put x baseline": Number((base.put / put).toFixed(2)),
      "get x baseline": Number((base.get / get).toFixed(2)),
      rounds
    }
  })
}
