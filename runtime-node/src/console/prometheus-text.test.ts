/** The console's reading of /metrics text: labels, escapes, sums, unknown (NaN) figures and junk lines. */
import { describe, expect, it } from "vitest"
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
