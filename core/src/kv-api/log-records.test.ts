/**
 * The HTTP log API's record bodies: JSON records into one valid batch and
 * fetched batches back into records with their offsets (records below the
 * requested offset left out, non-UTF-8 bytes never lost), and every
 * malformed body refused with a message rather than thrown.
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { decodeBatch, encodeBatch, withBaseOffset } from "../log/record-batch.ts"
import { batchFromJson, recordsFromBatches } from "./log-records.ts"

const batchOf = (body: unknown, ts = 1_000): Uint8Array => {
  const built = batchFromJson(body, ts)
  if (typeof built === "string") throw new Error(built)
  return built
}

describe("log API records", () => {
  it("builds one valid batch from JSON records, utf8 or base64", () => {
    const batch = batchOf({ records: [{ value: "a" }, { key: "k", value: "b" }, { value: null }] }, 42)
    const decoded = decodeBatch(batch)
    expect(Result.isSuccess(decoded)).toBe(true)
    if (!Result.isSuccess(decoded)) return
    expect(decoded.success.header.baseTimestamp).toBe(42)
    expect(decoded.success.header.producerId).toBe(-1)
    expect(decoded.success.records.map((r) => [r.offsetDelta, r.key === null ? null : new TextDecoder().decode(r.key), r.value === null ? null : new TextDecoder().decode(r.value)]))
      .toEqual([[0, null, "a"], [1, "k", "b"], [2, null, null]])
    const binary = batchOf({ encoding: "base64", records: [{ value: "AP8=" }] })
    expect(recordsFromBatches([binary], 0, "base64").records[0]).toMatchObject({ offset: 0, value: "AP8=" })
  })

  it("refuses malformed bodies with the rule", () => {
    for (const [body, says] of [
      [undefined, "expected"],
      [{ records: "x" }, "expected"],
      [{ records: [] }, "1..100000"],
      [{ records: [5] }, "records[0] must be an object"],
      [{ records: [{ value: 5 }] }, "records[0].value must be a string"],
      [{ records: [{ value: "%%" }], encoding: "base64" }, "not base64"],
      [{ records: [{ value: "a" }], encoding: "latin1" }, "encoding must be"],
      [{ records: [{ value: "a", headers: { k: "v" } }] }, "records[0].headers must be a list"],
      [{ records: [{ value: "a", headers: [{ value: "v" }] }] }, "records[0].headers[0] must be"],
      [{ records: [{ value: "a", headers: [{ key: "k", value: 1 }] }] }, "records[0].headers[0].value must be a string"]
    ] as const) {
      const built = batchFromJson(body, 0)
      expect(typeof built === "string" ? built : "a batch").toContain(says)
    }
  })

  it("keeps headers, a key given twice and a null value included, and reads them back", () => {
    const batch = batchOf({ records: [{ value: "a", headers: [{ key: "trace", value: "t1" }, { key: "trace", value: null }] }, { value: "b" }] })
    const read = recordsFromBatches([batch], 0, "utf8")
    expect(read.records.map((r) => r.headers)).toEqual([[{ key: "trace", value: "t1" }, { key: "trace", value: null }], undefined])
    const binary = batchOf({ encoding: "base64", records: [{ value: "AA==", headers: [{ key: "h", value: "/w==" }] }] })
    expect(recordsFromBatches([binary], 0, "utf8").records[0]!.headers).toEqual([{ key: "h", valueBase64: "/w==" }])
  })

  it("reads records at their offsets from the requested one on, keeping non-UTF-8 bytes as base64", () => {
    const first = withBaseOffset(batchOf({ records: [{ value: "a" }, { value: "b" }, { value: "c" }] }), 10)
    const raw = encodeBatch({ baseTimestamp: 5, records: [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: Uint8Array.of(0xff, 0xfe), headers: [] }] })
    const second = withBaseOffset(raw, 13)
    const read = recordsFromBatches([first, second], 11, "utf8")
    expect(read.records.map((r) => r.offset)).toEqual([11, 12, 13])
    expect(read.records.map((r) => r.value ?? r.valueBase64)).toEqual(["b", "c", "//4="])
    expect(read.nextOffset).toBe(14)
    expect(recordsFromBatches([], 7, "utf8")).toEqual({ records: [], undecoded: [], nextOffset: 7 })
  })
})
