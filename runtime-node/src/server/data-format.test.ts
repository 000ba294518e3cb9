/**
 * The data directory's FORMAT record on real temporary directories: written
 * on first start, accepted on the next, inferred for a directory written
 * before the record existed, and a newer, unknown or damaged record refused
 * with one line and exit 2, both by `openDataDir` and by a `cairn server`
 * process. The component versions are checked against the bytes core
 * writes, so a format bump in core without a FORMAT bump fails here.
 */
import { encodeObjectMeta } from "@cairn/core/object/metadata"
import { KvStateMachine } from "@cairn/core/kv/state-machine"
import { encodeShard } from "@cairn/core/shard-store/shard-store"
import { encodeSnapshotHeader } from "@cairn/core/snapshot/snapshot-store"
import { FORMAT_VERSION as WAL_FORMAT_VERSION } from "@cairn/core/wal/format"
import { Effect, Exit, Scope } from "effect"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { openDataDir } from "./data-dir.ts"
import { COMPONENT_FORMATS, currentFormat, DATA_DIR_FORMAT, decodeFormat, encodeFormat, FORMAT_FILE } from "./data-format.ts"
import { exited, spawnCairn } from "./local-cluster.ts"

const roots: Array<string> = []
const fresh = () => {
  const root = mkdtempSync(join(tmpdir(), "cairn-format-"))
  roots.push(root)
  return root
}
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})

/** Opens and closes the directory; the exit says whether it was accepted. */
const open = async (dir: string) => {
  const scope = Effect.runSync(Scope.make())
  const exit = await Effect.runPromiseExit(Scope.provide(openDataDir(dir), scope))
  await Effect.runPromise(Scope.close(scope, Exit.void))
  return exit
}

const refusalOf = async (dir: string) => {
  const exit = await open(dir)
  if (Exit.isSuccess(exit)) throw new Error("expected the directory to be refused")
  const fail = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (fail === undefined || fail._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return fail.error
}

const formatOf = (dir: string) => decodeFormat(readFileSync(join(dir, FORMAT_FILE), "utf8"))

describe("the data directory's FORMAT record", () => {
  it("is written on first start with every component's version, and accepted (unchanged) on the next", async () => {
    const dir = join(fresh(), "data")
    const first = await open(dir)
    expect(Exit.isSuccess(first) && first.value.format).toEqual({ found: "fresh", version: DATA_DIR_FORMAT, write: true })
    expect(formatOf(dir)).toEqual(currentFormat)
    const text = readFileSync(join(dir, FORMAT_FILE), "utf8")
    expect(text).toContain(`data-dir ${DATA_DIR_FORMAT}\n`)
    const second = await open(dir)
    expect(Exit.isSuccess(second) && second.value.format).toEqual({ found: "current", version: DATA_DIR_FORMAT, write: false })
    expect(readFileSync(join(dir, FORMAT_FILE), "utf8")).toBe(text)
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([])
  })

  it("reads a directory with data but no FORMAT (written before the record existed) as version 1 and records it", async () => {
    const dir = fresh()
    mkdirSync(join(dir, "raft"))
    const exit = await open(dir)
    expect(Exit.isSuccess(exit) && exit.value.format).toEqual({ found: "before-format-file", version: 1, write: true })
    expect(formatOf(dir)).toEqual(currentFormat)
  })

  it("refuses a directory written by a newer data-directory format: exit 2, one line, FORMAT left as it was", async () => {
    const dir = fresh()
    const newer = encodeFormat({ dataDir: DATA_DIR_FORMAT + 1, components: COMPONENT_FORMATS })
    writeFileSync(join(dir, FORMAT_FILE), newer)
    const error = await refusalOf(dir)
    expect(error).toMatchObject({ _tag: "DataDirError", exitCode: 2 })
    expect(error.message).toBe(
      `data directory ${dir}: written by a newer Cairn (data-directory format ${DATA_DIR_FORMAT + 1}; this build reads ${DATA_DIR_FORMAT} and older): ` +
        "run a build that knows it (downgrades are not supported; docs/upgrades.md)"
    )
    expect(readFileSync(join(dir, FORMAT_FILE), "utf8")).toBe(newer)
  })

  it("refuses a newer component format and a component it does not know, naming it", async () => {
    const dir = fresh()
    writeFileSync(join(dir, FORMAT_FILE), encodeFormat({ dataDir: DATA_DIR_FORMAT, components: { ...COMPONENT_FORMATS, wal: 2 } }))
    expect(await refusalOf(dir)).toMatchObject({ exitCode: 2, message: expect.stringContaining("newer Cairn (wal format 2; this build reads 1)") })
    writeFileSync(join(dir, FORMAT_FILE), encodeFormat({ dataDir: DATA_DIR_FORMAT, components: { ...COMPONENT_FORMATS, "stream-log": 1 } }))
    expect(await refusalOf(dir)).toMatchObject({ exitCode: 2, message: expect.stringContaining("a component this build does not know: stream-log 1") })
  })

  it("refuses a damaged FORMAT (a flipped byte, a truncation, garbage) instead of guessing", async () => {
    const dir = fresh()
    const good = encodeFormat(currentFormat)
    const flipped = good.replace(`data-dir ${DATA_DIR_FORMAT}`, `data-dir ${DATA_DIR_FORMAT + 1}`)
    for (const [text, why] of [[flipped, "checksum mismatch"], [good.slice(0, 40), "no checksum line"], ["\u0000\u0000\u0000", "no checksum line"]] as const) {
      writeFileSync(join(dir, FORMAT_FILE), text)
      const error = await refusalOf(dir)
      expect(error).toMatchObject({ exitCode: 2, message: expect.stringContaining(`its FORMAT file is damaged (${why})`) })
    }
  })

  it("names core's actual format versions: a component bumped in core fails here until FORMAT is bumped", () => {
    const le32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true)
    expect(WAL_FORMAT_VERSION).toBe(COMPONENT_FORMATS.wal)
    expect(le32(encodeSnapshotHeader(1, new Uint8Array(3)), 8)).toBe(COMPONENT_FORMATS.snapshot)
    expect(le32(encodeShard(new Uint8Array(3)), 8)).toBe(COMPONENT_FORMATS.shard)
    expect(new KvStateMachine().snapshot()[4]).toBe(COMPONENT_FORMATS["kv-snapshot"])
    // The newest object record core writes: one with a shard missing (a degraded write).
    const meta = encodeObjectMeta({
      bucket: "b", key: "k", versionId: "v", size: 4, createdMs: 0, contentCrc32c: 0, checksums: [], userMetadata: [],
      body: { kind: "striped", id: "b1", scheme: { dataShards: 2, parityShards: 1 }, shardSize: 2, stripes: [{ nodes: ["n1", "n2", "n3"], shardCrcs: [0, 0, 0], missing: [2] }] }
    })
    expect(meta[4]).toBe(COMPONENT_FORMATS["object-meta"])
  })
})

describe("cairn server on a directory written by a newer Cairn", () => {
  it("exits 2 with one line naming the versions, and writes nothing there", async () => {
    const dir = fresh()
    const newer = encodeFormat({ dataDir: DATA_DIR_FORMAT + 1, components: COMPONENT_FORMATS })
    writeFileSync(join(dir, FORMAT_FILE), newer)
    const stderr: Array<string> = []
    const child = spawnCairn(
      ["server", "--data-dir", dir, "--api-listen", "127.0.0.1:0", "--s3-listen", "127.0.0.1:0", "--peer-listen", "127.0.0.1:0"],
      { CAIRN_ACCESS_KEY: undefined, CAIRN_SECRET_KEY: undefined, CAIRN_CLUSTER_SECRET: undefined },
      (line, stream) => {
        if (stream === "stderr" && !line.startsWith("{")) stderr.push(line)
      }
    )
    await exited(child)
    expect(child.exitCode).toBe(2)
    expect(stderr).toEqual([expect.stringContaining(`written by a newer Cairn (data-directory format ${DATA_DIR_FORMAT + 1}`)])
    expect(readdirSync(dir)).toEqual([FORMAT_FILE])
    expect(readFileSync(join(dir, FORMAT_FILE), "utf8")).toBe(newer)
  })
})
