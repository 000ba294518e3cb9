import { Clock, nodeId, type NodeId } from "@cairn/core"
import { decodeObjectMeta, type ObjectBody } from "@cairn/core/object/metadata"
import { collectBody } from "@cairn/core/object/object-store"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { bytes, chunked, onCluster, put, voters } from "./cluster.test-support.ts"
import type { objectServers } from "./object-cluster.ts"

describe("object store on a 3-node cluster (2+1)", () => {
  it("stores inline, replicated and striped objects and reads them back whole and in ranges", () => {
    const sizes = [0, 1, 4096, 4097, 100_000, 131_071, 131_072, 600_000, 1_500_000]
    const { value } = onCluster((store) =>
      Effect.gen(function*() {
        yield* store.createBucket("b", "alice")
        const results: Array<{ size: number; kind: number; whole: boolean; ranges: boolean }> = []
        for (const [i, size] of sizes.entries()) {
          const data = bytes(size, i + 1)
          const info = yield* put(store, "b", `k${i}`, data, [["content-type", "x/y"]])
          expect(info.size).toBe(size)
          const got = yield* store.getObject("b", `k${i}`)
          const whole = yield* collectBody(got.body)
          expect(got.info.attributes).toEqual([["content-type", "x/y"]])
          let ranges = true
          for (const [start, end] of [[0, Math.min(1, size)], [Math.floor(size / 3), Math.floor((2 * size) / 3)], [Math.max(0, size - 10), size]] as const) {
            const part = yield* store.getObject("b", `k${i}`, { start, end })
            const slice = yield* collectBody(part.body)
            ranges &&= slice.length === end - start && slice.every((b, j) => b === data[start + j])
          }
          results.push({ size, kind: i, whole: whole.length === size && whole.every((b, j) => b === data[j]), ranges })
        }
        return results
      })
    )
    for (const r of value) {
      expect(r.whole, `size ${r.size} whole`).toBe(true)
      expect(r.ranges, `size ${r.size} ranges`).toBe(true)
    }
  })

  it("lists with prefix, delimiter and pagination; deletes; refuses to delete a non-empty bucket", () => {
    const { value } = onCluster((store) =>
      Effect.gen(function*() {
        yield* store.createBucket("b", "alice")
        const dup = yield* Effect.flip(store.createBucket("b", "bob"))
        for (const key of ["a/1", "a/2", "a/b/3", "b", "c/1", "c/2"]) yield* put(store, "b", key, bytes(10, 1))
        const all = yield* store.listObjects({ bucket: "b", maxKeys: 1000 })
        const rolled = yield* store.listObjects({ bucket: "b", delimiter: "/", maxKeys: 1000 })
        const underA = yield* store.listObjects({ bucket: "b", prefix: "a/", delimiter: "/", maxKeys: 1000 })
        const pages: Array<Array<string>> = []
        let startAfter: string | undefined
        for (;;) {
          const page = yield* store.listObjects({ bucket: "b", delimiter: "/", maxKeys: 2, ...(startAfter === undefined ? {} : { startAfter }) })
          pages.push([...page.objects.map((o) => o.key), ...page.commonPrefixes])
          if (!page.truncated) break
          startAfter = page.nextStartAfter
        }
        const notEmpty = yield* Effect.flip(store.deleteBucket("b"))
        for (const key of ["a/1", "a/2", "a/b/3", "b", "c/1", "c/2"]) yield* store.deleteObject("b", key)
        const again = yield* store.deleteObject("b", "a/1")
        const missing = yield* Effect.flip(store.getObject("b", "a/1"))
        yield* store.deleteBucket("b")
        const gone = yield* Effect.flip(store.headBucket("b"))
        return { dup: dup._tag, all: all.objects.map((o) => o.key), rolled, underA, pages, notEmpty: notEmpty._tag, again, missing: missing._tag, gone: gone._tag }
      })
    )
    expect(value.dup).toBe("BucketExistsError")
    expect(value.all).toEqual(["a/1", "a/2", "a/b/3", "b", "c/1", "c/2"])
    expect(value.rolled.objects.map((o) => o.key)).toEqual(["b"])
    expect(value.rolled.commonPrefixes).toEqual(["a/", "c/"])
    expect(value.underA.objects.map((o) => o.key)).toEqual(["a/1", "a/2"])
    expect(value.underA.commonPrefixes).toEqual(["a/b/"])
    // Two entries per page (objects and common prefixes both count), nothing twice, nothing missed.
    expect(value.pages.map((p) => p.length)).toEqual([2, 1])
    expect(value.pages.flat().sort()).toEqual(["a/", "b", "c/"])
    expect(value.notEmpty).toBe("BucketNotEmptyError")
    expect(value.again).toEqual({ existed: false, version: undefined, deleteMarker: false })
    expect(value.missing).toBe("NoSuchKeyError")
    expect(value.gone).toBe("NoSuchBucketError")
  })

  it("conditional puts: if-absent and if-version are checked atomically with the commit", () => {
    const { value } = onCluster((store) =>
      Effect.gen(function*() {
        yield* store.createBucket("b", "alice")
        const first = yield* store.putObject({ bucket: "b", key: "k", body: chunked(bytes(10, 1)), size: 10, finish: () => Effect.succeed([]), condition: { ifAbsent: true } })
        const second = yield* Effect.flip(store.putObject({ bucket: "b", key: "k", body: chunked(bytes(10, 2)), size: 10, finish: () => Effect.succeed([]), condition: { ifAbsent: true } }))
        const third = yield* store.putObject({ bucket: "b", key: "k", body: chunked(bytes(10, 3)), size: 10, finish: () => Effect.succeed([]), condition: { ifVersion: first.versionId } })
        const stale = yield* Effect.flip(store.putObject({ bucket: "b", key: "k", body: chunked(bytes(10, 4)), size: 10, finish: () => Effect.succeed([]), condition: { ifVersion: first.versionId } }))
        const now = yield* collectBody((yield* store.getObject("b", "k")).body)
        return { second: second._tag, stale: stale._tag, now, third }
      })
    )
    expect(value.second).toBe("PreconditionFailedError")
    expect(value.stale).toBe("PreconditionFailedError")
    expect([...value.now]).toEqual([...bytes(10, 3)])
  })

  it("assembles a multipart upload from the chosen parts in order, and reads across part boundaries", () => {
    const { value } = onCluster((store) =>
      Effect.gen(function*() {
        yield* store.createBucket("b", "alice")
        const upload = yield* store.createUpload("b", "big", [["content-type", "a/b"]])
        const parts = [bytes(300_000, 1), bytes(5, 2), bytes(700_000, 3), bytes(9, 4)]
        for (const [i, data] of parts.entries()) {
          yield* store.uploadPart({ bucket: "b", key: "big", uploadId: upload.uploadId, partNumber: i + 1, body: chunked(data), size: data.length, finish: () => Effect.succeed([["etag", `e${i + 1}`]]) })
        }
        const listed = yield* store.listParts("b", "big", upload.uploadId)
        const uploads = yield* store.listUploads("b")
        const badOrder = yield* Effect.flip(store.completeUpload({ bucket: "b", key: "big", uploadId: upload.uploadId, partNumbers: [3, 1], finish: () => Effect.succeed([]) }))
        const info = yield* store.completeUpload({ bucket: "b", key: "big", uploadId: upload.uploadId, partNumbers: [1, 3, 4], finish: (chosen) => Effect.succeed([["parts", chosen.map((p) => p.partNumber).join(",")]]) })
        const whole = yield* collectBody((yield* store.getObject("b", "big")).body)
        const across = yield* collectBody((yield* store.getObject("b", "big", { start: 299_990, end: 300_010 })).body)
        const afterComplete = yield* store.listUploads("b")
        const aborted = yield* store.createUpload("b", "other", [])
        yield* store.uploadPart({ bucket: "b", key: "other", uploadId: aborted.uploadId, partNumber: 1, body: chunked(bytes(10, 9)), size: 10, finish: () => Effect.succeed([]) })
        yield* store.abortUpload("b", "other", aborted.uploadId)
        const noUpload = yield* Effect.flip(store.listParts("b", "other", aborted.uploadId))
        return { listed: listed.parts.map((p) => [p.partNumber, p.size]), uploads: uploads.length, badOrder: badOrder._tag, info, whole, across, afterComplete: afterComplete.length, noUpload: noUpload._tag }
      })
    )
    const expected = new Uint8Array([...bytes(300_000, 1), ...bytes(700_000, 3), ...bytes(9, 4)])
    expect(value.listed).toEqual([[1, 300_000], [2, 5], [3, 700_000], [4, 9]])
    expect(value.uploads).toBe(1)
    expect(value.badOrder).toBe("InvalidPartError")
    expect(value.info.parts).toBe(3)
    expect(value.info.size).toBe(expected.length)
    expect(value.info.attributes).toEqual([["parts", "1,3,4"]])
    expect(value.whole.length).toBe(expected.length)
    expect(value.whole.every((b, i) => b === expected[i])).toBe(true)
    expect([...value.across]).toEqual([...expected.subarray(299_990, 300_010)])
    expect(value.afterComplete).toBe(0)
    expect(value.noUpload).toBe("NoSuchUploadError")
  })
})

describe("versioning", () => {
  const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])
  const versionsOf = (out: { readonly versions: ReadonlyArray<{ readonly key: string; readonly version: string | undefined; readonly isLatest: boolean; readonly deleteMarker: boolean }> }) =>
    out.versions.map((v) => `${v.key}@${v.version}${v.isLatest ? "*" : ""}${v.deleteMarker ? "x" : ""}`)

  it("keeps old versions, reads them by id, hides a key behind a delete marker, deletes versions for good, and keeps one null version when suspended", () => {
    const { value } = onCluster((store) =>
      Effect.gen(function*() {
        yield* store.createBucket("v", "alice")
        const initial = yield* store.headBucket("v")
        const before = yield* put(store, "v", "k", bytes(10, 1))
        const enabled = yield* store.setBucketVersioning("v", "enabled")
        const v1 = yield* put(store, "v", "k", bytes(5000, 2))
        const v2 = yield* put(store, "v", "k", bytes(200_000, 3))
        const head = yield* store.headObject("v", "k")
        const old = yield* collectBody((yield* store.getObject("v", "k", undefined, v1.version)).body)
        const oldest = yield* collectBody((yield* store.getObject("v", "k", undefined, "null")).body)
        const oldRange = yield* collectBody((yield* store.getObject("v", "k", { start: 10, end: 20 }, v1.version)).body)
        const list1 = yield* store.listVersions({ bucket: "v", maxKeys: 1000 })
        const marker = yield* store.deleteObject("v", "k")
        const hidden = yield* Effect.flip(store.headObject("v", "k"))
        const hiddenGet = yield* Effect.flip(store.getObject("v", "k"))
        const markerGet = yield* Effect.flip(store.getObject("v", "k", undefined, marker.version))
        const listed = yield* store.listObjects({ bucket: "v", maxKeys: 1000 })
        const list2 = yield* store.listVersions({ bucket: "v", maxKeys: 1000 })
        // Removing the marker brings v2 back; removing v1 frees it for good.
        const unmark = yield* store.deleteObject("v", "k", marker.version)
        const back = yield* store.headObject("v", "k")
        const dropV1 = yield* store.deleteObject("v", "k", v1.version)
        const goneV1 = yield* Effect.flip(store.getObject("v", "k", undefined, v1.version))
        const badId = yield* Effect.flip(store.headObject("v", "k", "nonsense"))
        const list3 = yield* store.listVersions({ bucket: "v", maxKeys: 1000 })
        // Removing the current version makes the newest older one current.
        const v3 = yield* put(store, "v", "k", bytes(30, 6))
        yield* store.deleteObject("v", "k", v3.version)
        const afterDropCurrent = yield* store.headObject("v", "k")
        // Suspended: puts replace the null version, versioned ones stay.
        const suspended = yield* store.setBucketVersioning("v", "suspended")
        const s1 = yield* put(store, "v", "k", bytes(10, 4))
        const list4 = yield* store.listVersions({ bucket: "v", maxKeys: 1000 })
        const s2 = yield* put(store, "v", "k", bytes(10, 5))
        const list5 = yield* store.listVersions({ bucket: "v", maxKeys: 1000 })
        const nullNow = yield* collectBody((yield* store.getObject("v", "k", undefined, "null")).body)
        const v2Still = yield* collectBody((yield* store.getObject("v", "k", undefined, v2.version)).body)
        const suspendedDelete = yield* store.deleteObject("v", "k")
        const list6 = yield* store.listVersions({ bucket: "v", maxKeys: 1000 })
        const notEmpty = yield* Effect.flip(store.deleteBucket("v"))
        for (const v of list6.versions) yield* store.deleteObject("v", v.key, v.version)
        const list7 = yield* store.listVersions({ bucket: "v", maxKeys: 1000 })
        yield* store.deleteBucket("v")
        return {
          initial: initial.versioning, before: before.version, enabled: enabled.versioning, suspended: suspended.versioning,
          v1, v2, head: head.version, old: same(old, bytes(5000, 2)), oldest: same(oldest, bytes(10, 1)), oldRange: same(oldRange, bytes(5000, 2).subarray(10, 20)),
          list1: versionsOf(list1), marker, hidden, hiddenGet: hiddenGet._tag, markerGet: markerGet._tag, listed: listed.objects.length,
          list2: versionsOf(list2), unmark, back: back.version, dropV1, goneV1: goneV1._tag, badId: badId._tag, list3: versionsOf(list3),
          afterDropCurrent: afterDropCurrent.version, s1: s1.version, s2: s2.version, list4: versionsOf(list4), list5: versionsOf(list5),
          nullNow: same(nullNow, bytes(10, 5)), v2Still: same(v2Still, bytes(200_000, 3)), suspendedDelete, list6: versionsOf(list6),
          notEmpty: notEmpty._tag, list7: list7.versions.length
        }
      })
    )
    expect(value.initial).toBe("unversioned")
    expect(value.before).toBeUndefined()
    expect(value.enabled).toBe("enabled")
    const v1 = value.v1.version!
    const v2 = value.v2.version!
    expect(v1).toMatch(/^\d{15}-[0-9a-z]+$/)
    expect(v2).not.toBe(v1)
    expect(value.head).toBe(v2)
    expect(value.old).toBe(true)
    expect(value.oldest).toBe(true)
    expect(value.oldRange).toBe(true)
    expect(value.list1).toEqual([`k@${v2}*`, `k@${v1}`, "k@null"])
    expect(value.marker.deleteMarker).toBe(true)
    const m = value.marker.version!
    expect(value.hidden).toMatchObject({ _tag: "NoSuchKeyError", deleteMarker: m })
    expect(value.hiddenGet).toBe("NoSuchKeyError")
    expect(value.markerGet).toBe("DeleteMarkerError")
    expect(value.listed).toBe(0)
    expect(value.list2).toEqual([`k@${m}*x`, `k@${v2}`, `k@${v1}`, "k@null"])
    expect(value.unmark).toEqual({ existed: true, version: m, deleteMarker: true })
    expect(value.back).toBe(v2)
    expect(value.dropV1).toEqual({ existed: true, version: v1, deleteMarker: false })
    expect(value.goneV1).toBe("NoSuchVersionError")
    expect(value.badId).toBe("NoSuchVersionError")
    expect(value.list3).toEqual([`k@${v2}*`, "k@null"])
    expect(value.afterDropCurrent).toBe(v2)
    expect(value.suspended).toBe("suspended")
    expect(value.s1).toBe("null")
    expect(value.s2).toBe("null")
    // The null version written before versioning was replaced by the suspended put.
    expect(value.list4).toEqual(["k@null*", `k@${v2}`])
    expect(value.list5).toEqual(["k@null*", `k@${v2}`])
    expect(value.nullNow).toBe(true)
    expect(value.v2Still).toBe(true)
    expect(value.suspendedDelete).toEqual({ existed: true, version: "null", deleteMarker: true })
    expect(value.list6).toEqual(["k@null*x", `k@${v2}`])
    expect(value.notEmpty).toBe("BucketNotEmptyError")
    expect(value.list7).toBe(0)
  })

  it("lists versions in S3's order with key and version-id markers, delimiters and pages", () => {
    const { value } = onCluster((store) =>
      Effect.gen(function*() {
        yield* store.createBucket("v", "alice")
        yield* store.setBucketVersioning("v", "enabled")
        for (const [key, n] of [["b", 2], ["a/1", 3], ["a/2", 1], ["c", 1], ["a/b/3", 2]] as const) {
          for (let i = 0; i < n; i++) yield* put(store, "v", key, bytes(10, i))
        }
        yield* store.deleteObject("v", "b")
        const all = yield* store.listVersions({ bucket: "v", maxKeys: 1000 })
        const pageAll = (input: { readonly prefix?: string; readonly delimiter?: string; readonly maxKeys: number }) =>
          Effect.gen(function*() {
            const seen: Array<string> = []
            const sizes: Array<number> = []
            let keyMarker: string | undefined
            let versionIdMarker: string | undefined
            for (let guard = 0; guard < 50; guard++) {
              const page = yield* store.listVersions({
                bucket: "v",
                ...input,
                ...(keyMarker === undefined ? {} : { keyMarker }),
                ...(versionIdMarker === undefined ? {} : { versionIdMarker })
              })
              seen.push(...versionsOf(page), ...page.commonPrefixes.map((p) => `${p}/`))
              sizes.push(page.versions.length + page.commonPrefixes.length)
              if (!page.truncated) break
              keyMarker = page.nextKeyMarker
              versionIdMarker = page.nextVersionIdMarker
            }
            return { seen, sizes }
          })
        const paged = yield* pageAll({ maxKeys: 2 })
        const rolled = yield* store.listVersions({ bucket: "v", delimiter: "/", maxKeys: 1000 })
        const rolledPaged = yield* pageAll({ delimiter: "/", maxKeys: 1 })
        const underA = yield* store.listVersions({ bucket: "v", prefix: "a/", delimiter: "/", maxKeys: 1000 })
        const afterA1 = yield* store.listVersions({ bucket: "v", keyMarker: "a/1", maxKeys: 1000 })
        return { all: versionsOf(all), paged, rolled: { v: versionsOf(rolled), p: rolled.commonPrefixes }, rolledPaged, underA: { v: versionsOf(underA), p: underA.commonPrefixes }, afterA1: versionsOf(afterA1) }
      })
    )
    const keys = value.all.map((v) => v.split("@")[0])
    expect(keys).toEqual(["a/1", "a/1", "a/1", "a/2", "a/b/3", "a/b/3", "b", "b", "b", "c"])
    // Newest first within a key: version ids sort ascending as they get newer-first.
    const a1 = value.all.slice(0, 3).map((v) => v.split("@")[1]!.replace("*", ""))
    expect([...a1].sort()).toEqual(a1)
    expect(value.all[0]!.endsWith("*")).toBe(true)
    expect(value.all[1]!.endsWith("*")).toBe(false)
    expect(value.all[6]!.endsWith("*x")).toBe(true)
    expect(value.paged.seen).toEqual(value.all)
    expect(value.paged.sizes).toEqual([2, 2, 2, 2, 2])
    expect(value.rolled.p).toEqual(["a/"])
    expect(value.rolled.v.map((v) => v.split("@")[0])).toEqual(["b", "b", "b", "c"])
    expect(value.rolledPaged.seen).toEqual(["a//", ...value.rolled.v])
    expect(value.underA.p).toEqual(["a/b/"])
    expect(value.underA.v.map((v) => v.split("@")[0])).toEqual(["a/1", "a/1", "a/1", "a/2"])
    expect(value.afterA1).toEqual(value.all.slice(3))
  })

  it("concurrent deletes of every version from three nodes (current first or not) leave nothing behind", () => {
    const { value } = onCluster((store, servers) =>
      Effect.gen(function*() {
        yield* store.createBucket("v", "alice")
        yield* put(store, "v", "k", bytes(10, 0))
        yield* store.setBucketVersioning("v", "enabled")
        for (let i = 1; i <= 5; i++) yield* put(store, "v", "k", bytes(10, i))
        yield* store.deleteObject("v", "k")
        const all = yield* store.listVersions({ bucket: "v", maxKeys: 1000 })
        // One KV session per node takes one write at a time, so the concurrency is between nodes.
        const stores = voters.map((id) => servers.node(id)!.store)
        const outcomes = (yield* Effect.forEach(stores, (s, n) =>
          Effect.forEach(all.versions.filter((_, i) => i % stores.length === n), (v) => s.deleteObject("v", "k", v.version)), { concurrency: "unbounded" })).flat()
        const left = yield* store.listVersions({ bucket: "v", maxKeys: 1000 })
        const head = yield* Effect.flip(store.headObject("v", "k"))
        return { count: all.versions.length, existed: outcomes.map((o) => o.existed), left: left.versions.length, head: head._tag }
      }))
    expect(value.count).toBe(7)
    expect(value.existed).toEqual(Array(7).fill(true))
    expect(value.left).toBe(0)
    expect(value.head).toBe("NoSuchKeyError")
  })

  it("garbage collection keeps old versions' shards and frees a deleted version's", () => {
    const { value } = onCluster((store, servers) =>
      Effect.gen(function*() {
        const clock = yield* Clock
        const n1 = servers.node(nodeId("n1"))!
        yield* store.createBucket("v", "alice")
        yield* store.setBucketVersioning("v", "enabled")
        const v1 = yield* put(store, "v", "k", bytes(500_000, 1))
        const v2 = yield* put(store, "v", "k", bytes(500_000, 2))
        yield* put(store, "v", "k", bytes(500_000, 3))
        yield* store.deleteObject("v", "k", v2.version)
        yield* store.deleteObject("v", "k")
        yield* clock.sleep(30_000)
        const old = yield* collectBody((yield* store.getObject("v", "k", undefined, v1.version)).body)
        const repair = yield* n1.repairer.sweep
        const sweeps = yield* Effect.forEach(voters, (id) => servers.node(id)!.garbage.sweep)
        return { old: same(old, bytes(500_000, 1)), repair, sweeps }
      }), 90_000)
    expect(value.old).toBe(true)
    // v1, v3 and the delete marker; v2 is gone.
    expect(value.repair.records).toBe(3)
    expect(value.repair.shardsRebuilt).toBe(0)
    for (const sweep of value.sweeps) expect(sweep.orphanShards).toBe(0)
    // Two live bodies of one 2+1 stripe each: v1's and v3's.
    expect(value.sweeps.reduce((n, s) => n + s.localShards, 0)).toBe(2 * 3)
  })
})

describe("degraded reads, repair and garbage collection", () => {
  it("reads through a lost and a rotten shard, and repair restores full redundancy", () => {
    const { value } = onCluster((store, servers) =>
      Effect.gen(function*() {
        const node = servers.node(nodeId("n1"))!
        yield* store.createBucket("b", "alice")
        const data = bytes(1_200_000, 7)
        const info = yield* put(store, "b", "k", data)
        const record = yield* node.kv.read({ op: "get", key: `\u0000o/b/k` })
        expect(record.type === "get" && record.found).toBe(true)
        const meta = decodeObjectMeta(record.type === "get" ? record.value : new Uint8Array())
        if (meta._tag !== "Success" || meta.success.body.kind !== "striped") throw new Error("expected a striped body")
        const body = meta.success.body
        // Stripe 0 loses its shard 0; stripe 1's shard 2 is replaced by well-formed but wrong bytes.
        yield* node.transfer.remove(body.stripes[0]!.nodes[0]! as NodeId, `${body.id}.0.0`)
        yield* node.transfer.put(body.stripes[1]!.nodes[2]! as NodeId, `${body.id}.1.2`, bytes(body.shardSize, 99))
        const degraded = yield* collectBody((yield* store.getObject("b", "k")).body)
        const first = yield* node.repairer.sweep
        const second = yield* node.repairer.sweep
        const restored = yield* node.transfer.get(body.stripes[0]!.nodes[0]! as NodeId, `${body.id}.0.0`)
        return { info, degraded, first, second, restoredSize: restored.length, shardSize: body.shardSize, data }
      })
    )
    expect(value.degraded.length).toBe(value.data.length)
    expect(value.degraded.every((b, i) => b === value.data[i])).toBe(true)
    expect(value.first.shardsRebuilt).toBe(2)
    expect(value.first.lost).toEqual([])
    expect(value.second.shardsRebuilt).toBe(0)
    expect(value.restoredSize).toBe(value.shardSize)
  })

  it("rewrites, on its node, a shard that node answers it cannot read (a latent sector error; objects seed 181)", () => {
    const { value } = onCluster((store, servers, cluster) =>
      Effect.gen(function*() {
        const n1 = servers.node(nodeId("n1"))!
        yield* store.createBucket("b", "alice")
        yield* put(store, "b", "k", bytes(600_000, 3))
        const body = yield* bodyOf(servers, "\u0000o/b/k")
        if (body.kind !== "striped") throw new Error("expected a striped body")
        const slot = body.stripes[0]!.nodes.findIndex((n) => n !== "n1")
        const node = body.stripes[0]!.nodes[slot]! as NodeId
        const id = `${body.id}.0.${slot}`
        const good = yield* n1.transfer.get(node, id)
        // The same bytes stored again, on a sector that fails every read until it is rewritten.
        const disk = cluster.disk(node)
        disk.config = { ...disk.config, latentSectorRate: 1 }
        yield* n1.transfer.put(node, id, good)
        disk.config = { ...disk.config, latentSectorRate: 0 }
        const unreadable = yield* Effect.flip(n1.transfer.get(node, id))
        const first = yield* n1.repairer.sweep
        const second = yield* n1.repairer.sweep
        const after = yield* n1.transfer.get(node, id)
        return { node, unreadable: unreadable.reason, first, second, intact: after.length === good.length && after.every((b, i) => b === good[i]) }
      }), 60_000, { repairIntervalMs: 3_600_000 })
    expect(value.unreadable).toBe("error")
    // Not taken for a silent node (left alone for good): rebuilt, onto the node that holds it.
    expect(value.first.shardsRebuilt).toBe(1)
    expect(value.first.rebuiltFrom).toEqual([value.node])
    expect(value.first.shardsMoved).toBe(0)
    expect(value.second.shardsRebuilt).toBe(0)
    expect(value.intact).toBe(true)
  })

  it("removes orphaned and replaced shards after the grace period, never live ones", () => {
    const { value } = onCluster((store, servers) =>
      Effect.gen(function*() {
        const clock = yield* Clock
        const n1 = servers.node(nodeId("n1"))!
        yield* store.createBucket("b", "alice")
        yield* put(store, "b", "keep", bytes(500_000, 1))
        yield* put(store, "b", "over", bytes(500_000, 2))
        yield* put(store, "b", "over", bytes(500_000, 3))
        // A write that never committed: shards on every node, no record.
        for (const id of voters) yield* n1.transfer.put(id, "orphan1.0.0", bytes(1000, 5))
        // Background GC runs every second with a 10 s grace (maxWriteMs 5 s).
        yield* clock.sleep(30_000)
        const orphanLeft = yield* Effect.forEach(voters, (id) => Effect.map(Effect.result(n1.transfer.get(id, "orphan1.0.0")), (r) => r._tag === "Success"))
        const keep = yield* collectBody((yield* store.getObject("b", "keep")).body)
        const over = yield* collectBody((yield* store.getObject("b", "over")).body)
        const repair = yield* n1.repairer.sweep
        const sweeps = yield* Effect.forEach(voters, (id) => servers.node(id)!.garbage.sweep)
        const keepData = bytes(500_000, 1)
        const overData = bytes(500_000, 3)
        return { orphanLeft, keepOk: keep.every((b, i) => b === keepData[i]), overOk: over.every((b, i) => b === overData[i]), repair, sweeps }
      }), 90_000)
    expect(value.orphanLeft).toEqual([false, false, false])
    expect(value.keepOk).toBe(true)
    expect(value.overOk).toBe(true)
    expect(value.repair.shardsRebuilt).toBe(0)
    expect(value.repair.records).toBe(2)
    // Every shard left on disk belongs to one of the two live objects.
    for (const sweep of value.sweeps) expect(sweep.orphanShards).toBe(0)
    expect(value.sweeps.reduce((n, s) => n + s.localShards, 0)).toBe(2 * 3)
  })
})

/** n1's view of a committed record's body. */
const bodyOf = (servers: ReturnType<typeof objectServers>, key: string) =>
  Effect.gen(function*() {
    const record = yield* servers.node(nodeId("n1"))!.kv.read({ op: "get", key })
    const meta = decodeObjectMeta(record.type === "get" && record.found ? record.value : new Uint8Array())
    if (meta._tag !== "Success") throw new Error(`no record at ${JSON.stringify(key)}`)
    return meta.success.body
  })

const missingOf = (body: ObjectBody): ReadonlyArray<string> =>
  body.kind === "striped"
    ? body.stripes.flatMap((s, i) => (s.missing ?? []).map((j) => `${i}.${j}@${s.nodes[j]}`))
    : body.kind === "replicated"
    ? (body.missing ?? []).map((j) => `r.${j}@${body.nodes[j]}`)
    : []

const dirtySet = (servers: ReturnType<typeof objectServers>) =>
  Effect.map(servers.node(nodeId("n1"))!.kv.read({ op: "range", start: "\u0000d/", end: "\u0000d0", limit: 100 }), (r) => (r.type === "range" ? r.items.length : -1))

describe("degraded writes", () => {
  it("go on with one of three nodes down, record the missing shards, and repair writes them when the node returns", () => {
    const { value } = onCluster((store, servers, cluster) =>
      Effect.gen(function*() {
        const clock = yield* Clock
        yield* store.createBucket("b", "alice")
        cluster.crash(nodeId("n3"))
        const striped = bytes(1_200_000, 21)
        const copied = bytes(100_000, 22)
        yield* put(store, "b", "striped", striped)
        yield* put(store, "b", "copied", copied)
        const before = { striped: missingOf(yield* bodyOf(servers, "\u0000o/b/striped")), copied: missingOf(yield* bodyOf(servers, "\u0000o/b/copied")), dirty: yield* dirtySet(servers) }
        const readWhileDown = yield* collectBody((yield* store.getObject("b", "striped")).body)
        cluster.restart(nodeId("n3"))
        // The dirty set is swept every second here; give n3 time to rejoin first.
        yield* clock.sleep(8_000)
        const after = { striped: missingOf(yield* bodyOf(servers, "\u0000o/b/striped")), copied: missingOf(yield* bodyOf(servers, "\u0000o/b/copied")), dirty: yield* dirtySet(servers) }
        const full = yield* servers.node(nodeId("n1"))!.repairer.sweep
        const back = yield* collectBody((yield* store.getObject("b", "copied")).body)
        return { before, after, full, whileDown: readWhileDown.every((b, i) => b === striped[i]), copiedOk: back.every((b, i) => b === copied[i]) }
      }), 60_000, { degradedRepairIntervalMs: 1_000, repairIntervalMs: 1_000_000, transferTimeoutMs: 500 })
    // Every stripe placed a shard on n3, and the copies went to two of the three nodes.
    expect(value.before.striped.length).toBe(3)
    expect(value.before.striped.every((m) => m.endsWith("@n3"))).toBe(true)
    expect(value.before.copied.every((m) => m.endsWith("@n3"))).toBe(true)
    expect(value.before.dirty).toBe(1 + value.before.copied.length)
    expect(value.whileDown).toBe(true)
    expect(value.after).toEqual({ striped: [], copied: [], dirty: 0 })
    expect(value.full.shardsRebuilt).toBe(0)
    expect(value.full.lost).toEqual([])
    expect(value.copiedOk).toBe(true)
  })

  it("hand a down node's shards to a spare member, so a 4-node 2+1 cluster stays fully redundant", () => {
    const four = [nodeId("n1"), nodeId("n2"), nodeId("n3"), nodeId("n4")]
    const { value } = onCluster((store, servers, cluster) =>
      Effect.gen(function*() {
        yield* store.createBucket("b", "alice")
        cluster.crash(nodeId("n4"))
        yield* put(store, "b", "k", bytes(2_000_000, 31))
        const body = yield* bodyOf(servers, "\u0000o/b/k")
        return { missing: missingOf(body), nodes: body.kind === "striped" ? body.stripes.flatMap((s) => s.nodes) : [], dirty: yield* dirtySet(servers) }
      }), 60_000, { scheme: { dataShards: 2, parityShards: 1 }, transferTimeoutMs: 500 }, { voters: four })
    expect(value.missing).toEqual([])
    expect(value.nodes).not.toContain("n4")
    expect(value.dirty).toBe(0)
  })

  it("refuse a write that cannot store its quorum (spare shards = m: every shard)", () => {
    const { value } = onCluster((store, _servers, cluster) =>
      Effect.gen(function*() {
        yield* store.createBucket("b", "alice")
        cluster.crash(nodeId("n3"))
        const r = yield* Effect.result(put(store, "b", "k", bytes(600_000, 41)))
        return r._tag === "Failure" ? `${r.failure._tag}: ${"message" in r.failure ? r.failure.message : ""}` : "stored"
      }), 60_000, { spareShards: 1, transferTimeoutMs: 500 })
    expect(value).toMatch(/ObjectDataError: 2 of 3 shards stored, 3 needed/)
  })

  it("move a missing shard to a free member once its node has stayed silent past the relocation timeout", () => {
    const five = [nodeId("n1"), nodeId("n2"), nodeId("n3"), nodeId("n4"), nodeId("n5")]
    // 3+1 over four members: with n4 down no member is spare, so its shards are recorded missing.
    let members: ReadonlyArray<NodeId> = five.slice(0, 4)
    const { value } = onCluster((store, servers, cluster) =>
      Effect.gen(function*() {
        const clock = yield* Clock
        yield* store.createBucket("b", "alice")
        cluster.crash(nodeId("n4"))
        yield* put(store, "b", "k", bytes(2_000_000, 51))
        const before = missingOf(yield* bodyOf(servers, "\u0000o/b/k"))
        // n5 joins; n4 stays down past the relocation timeout.
        members = five
        yield* clock.sleep(20_000)
        const body = yield* bodyOf(servers, "\u0000o/b/k")
        const back = yield* collectBody((yield* store.getObject("b", "k")).body)
        const expected = bytes(2_000_000, 51)
        const placed = body.kind === "striped" ? body.stripes.flatMap((s) => s.nodes) : []
        return { before, after: missingOf(body), onN4: placed.filter((n) => n === "n4").length, onN5: placed.filter((n) => n === "n5").length, ok: back.every((b, i) => b === expected[i]) }
      }), 60_000, { scheme: { dataShards: 3, parityShards: 1 }, degradedRepairIntervalMs: 1_000, relocateMissingAfterMs: 5_000, transferTimeoutMs: 500 }, { voters: five, members: () => members })
    expect(value.before.length).toBeGreaterThan(0)
    expect(value.before.every((m) => m.endsWith("@n4"))).toBe(true)
    expect(value.after).toEqual([])
    expect(value.onN4).toBe(0)
    expect(value.onN5).toBe(value.before.length)
    expect(value.ok).toBe(true)
  })
})

describe("node replacement", () => {
  it("moves a removed node's shards to the remaining members and records the move; reads then need no removed node", () => {
    const four = [nodeId("n1"), nodeId("n2"), nodeId("n3"), nodeId("n4")]
    let members: ReadonlyArray<NodeId> = four
    const { value } = onCluster((store, servers, cluster) =>
      Effect.gen(function*() {
        const clock = yield* Clock
        const n1 = servers.node(nodeId("n1"))!
        yield* store.createBucket("b", "alice")
        const data = bytes(2_000_000, 11)
        yield* put(store, "b", "k", data)
        // n4 leaves the cluster: shards may no longer go there, and those it holds must move.
        members = four.slice(0, 3)
        const report = yield* n1.repairer.sweep
        cluster.crash(nodeId("n4"))
        yield* clock.sleep(100)
        const record = yield* n1.kv.read({ op: "get", key: "\u0000o/b/k" })
        const meta = decodeObjectMeta(record.type === "get" ? record.value : new Uint8Array())
        const placed = meta._tag === "Success" && meta.success.body.kind === "striped" ? meta.success.body.stripes.flatMap((s) => s.nodes) : []
        const back = yield* collectBody((yield* store.getObject("b", "k")).body)
        const again = yield* n1.repairer.sweep
        return { report, placed, ok: back.length === data.length && back.every((b, i) => b === data[i]), again }
      }), 60_000, { scheme: { dataShards: 2, parityShards: 1 } }, { voters: four, members: () => members })
    expect(value.report.shardsMoved).toBeGreaterThan(0)
    expect(value.report.lost).toEqual([])
    expect(value.placed.length).toBeGreaterThan(0)
    expect(value.placed).not.toContain("n4")
    expect(value.ok).toBe(true)
    expect(value.again.shardsRebuilt).toBe(0)
  })
})

describe("concurrency through one node", () => {
  it("many puts at once through one node's store all commit (each write in flight has its own KV session)", () => {
    const { value } = onCluster((store) =>
      Effect.gen(function*() {
        yield* store.createBucket("b", "alice")
        const infos = yield* Effect.forEach(Array.from({ length: 24 }, (_, i) => i), (i) => put(store, "b", `k${i % 6}`, bytes(100 + i, i)), { concurrency: "unbounded" })
        const listed = yield* store.listObjects({ bucket: "b", maxKeys: 100 })
        return { puts: infos.length, keys: listed.objects.map((o) => o.key) }
      }))
    expect(value.puts).toBe(24)
    expect(value.keys).toEqual(["k0", "k1", "k2", "k3", "k4", "k5"])
  })
})
