/**
 * The console's reading of /metrics text (labels, escapes, sums, unknown
 * NaN figures, junk lines) and of a member's storage figures from it.
 */
import { describe, expect, it } from "vitest"
import { nodeStorageOf } from "./cluster-storage.ts"
import { figure, parseExposition } from "./prometheus-text.ts"

const TEXT = `# HELP cairn_disk_size_bytes Size of the filesystem
# TYPE cairn_disk_size_bytes gauge
cairn_disk_size_bytes 1073741824
cairn_repair_unrepaired_stripes{reason="lost"} 2
cairn_repair_unrepaired_stripes{reason="unavailable"} 5
cairn_s3_requests_total{operation="GetObject",code="200"} 7 1700000000000
cairn_s3_requests_total{operation="Put \\"x\\"",code="200"} 3
cairn_node_shard_bytes NaN
this is not a sample
`

describe("prometheus text", () => {
  it("reads samples with their labels, escapes undone", () => {
    const samples = parseExposition(TEXT)
    expect(samples).toHaveLength(6)
    expect(samples[4]).toEqual({ name: "cairn_s3_requests_total", labels: { operation: "Put \"x\"", code: "200" }, value: 3 })
  })

  it("sums a metric's samples, narrowed by labels; none or NaN is unknown", () => {
    const samples = parseExposition(TEXT)
    expect(figure(samples, "cairn_disk_size_bytes")).toBe(1073741824)
    expect(figure(samples, "cairn_repair_unrepaired_stripes")).toBe(7)
    expect(figure(samples, "cairn_repair_unrepaired_stripes", { reason: "lost" })).toBe(2)
    expect(figure(samples, "cairn_s3_requests_total", { code: "200" })).toBe(10)
    expect(figure(samples, "cairn_node_shard_bytes")).toBeNull()
    expect(figure(samples, "cairn_nothing")).toBeNull()
  })
})

describe("a member's storage figures", () => {
  it("reads disk, repair and GC figures, a never-swept timestamp as unknown, and an unreachable member as all unknown", () => {
    const text = `cairn_disk_size_bytes 1000
cairn_disk_available_bytes 250
cairn_repair_sweeps_total 0
cairn_repair_last_sweep_timestamp_seconds 0
cairn_gc_sweeps_total 3
cairn_gc_last_sweep_timestamp_seconds 1700000000
cairn_repair_unrepaired_stripes{reason="lost"} 1
cairn_repair_unrepaired_stripes{reason="unavailable"} 4
`
    const n = nodeStorageOf("n2", { ok: true, samples: parseExposition(text) })
    expect(n).toMatchObject({ id: "n2", draining: false, diskSizeBytes: 1000, diskAvailableBytes: 250, shardBytes: null })
    // A draining member's shard count is what it has left to move.
    expect(nodeStorageOf("n2", { ok: true, samples: parseExposition("cairn_node_shards 17\n") }, true)).toMatchObject({ draining: true, shards: 17 })
    expect(n.repair).toEqual({ sweeps: 0, lastSweepMs: null, shardsRebuilt: null, unrepairedLost: 1, unrepairedUnavailable: 4 })
    expect(n.gc).toMatchObject({ sweeps: 3, lastSweepMs: 1_700_000_000_000 })
    const gone = nodeStorageOf("n3", { ok: false, error: "connect ECONNREFUSED" })
    expect(gone).toMatchObject({ id: "n3", error: "connect ECONNREFUSED", diskSizeBytes: null, diskAvailableBytes: null })
  })
})
