/**
 * Producing through the log API as the console does: to a chosen partition
 * or by key (the partition Kafka's default partitioner picks, so a Kafka
 * client and the API agree where a key lives), with headers; and every
 * body that cannot be produced refused with a 4xx saying why, nothing
 * appended.
 */
import { Effect, Result } from "effect"
import { describe, expect, it } from "vitest"
import { decodeBatch } from "@cairn/core/log/record-batch"
import { partitionForKey } from "@cairn/core/log/topics/key-partitioner"
import { json, withLogApi } from "./log-api-harness.test-support.ts"

const noSeed = () => Effect.void
const encoder = new TextEncoder()
const decoder = new TextDecoder()

describe("the log API: producing by key and to a partition", () => {
  it("puts records with a key in the partition Kafka's partitioner picks, and answers the offset", () =>
    withLogApi(noSeed, (api, produced) =>
      Effect.gen(function*() {
        // Two keys that the partitioner spreads over orders' two partitions.
        const keys = ["k0", "k1", "k2", "k3"].filter((k, i, all) => all.findIndex((o) => partitionForKey(encoder.encode(o), 2) === partitionForKey(encoder.encode(k), 2)) === i)
        expect(keys.length).toBe(2)
        for (const key of keys) {
          const r = yield* api("/v1/log/topics/orders/records", { method: "POST", body: { records: [{ key, value: `v-${key}`, headers: [{ key: "source", value: "console" }] }] } })
          const partition = partitionForKey(encoder.encode(key), 2)
          expect([r.status, json(r).partition, json(r).baseOffset]).toEqual([200, partition, partition === 0 ? 10 : 5])
        }
        expect(produced.map((p) => p.partition).sort()).toEqual([0, 1])
        const decoded = decodeBatch(produced[0]!.batch)
        if (!Result.isSuccess(decoded)) return expect.fail("the produced batch does not decode")
        const record = decoded.success.records[0]!
        expect([decoder.decode(record.key!), record.headers.map((h) => [h.key, decoder.decode(h.value!)])]).toEqual([keys[0], [["source", "console"]]])
      })))

  it("still produces to a chosen partition", () =>
    withLogApi(noSeed, (api, produced) =>
      Effect.gen(function*() {
        const r = yield* api("/v1/log/topics/orders/partitions/1/records", { method: "POST", body: { records: [{ value: "no key" }] } })
        expect([r.status, json(r).baseOffset, produced.map((p) => p.partition)]).toEqual([200, 5, [1]])
      })))

  it("refuses what it cannot produce by key, saying why, and appends nothing", () =>
    withLogApi(noSeed, (api, produced) =>
      Effect.gen(function*() {
        const post = (target: string, body: unknown) => api(target, { method: "POST", body })
        const noKey = yield* post("/v1/log/topics/orders/records", { records: [{ value: "v" }] })
        expect([noKey.status, json(noKey).error]).toEqual([400, "bad-key"])
        expect(json(noKey).message).toContain("choose a partition")
        const twoKeys = yield* post("/v1/log/topics/orders/records", { records: [{ key: "a", value: "v" }, { key: "b", value: "v" }] })
        expect([twoKeys.status, json(twoKeys).error]).toEqual([400, "bad-key"])
        const badHeaders = yield* post("/v1/log/topics/orders/records", { records: [{ key: "a", value: "v", headers: "x" }] })
        expect([badHeaders.status, json(badHeaders).error, json(badHeaders).message]).toEqual([400, "bad-records", 'records[0].headers must be a list of {"key", "value"}'])
        const notJson = yield* post("/v1/log/topics/orders/records", "{not json")
        expect([notJson.status, json(notJson).error]).toEqual([400, "bad-json"])
        const unknown = yield* post("/v1/log/topics/nope/records", { records: [{ key: "a", value: "v" }] })
        expect([unknown.status, json(unknown).error]).toEqual([404, "unknown-topic"])
        const get = yield* api("/v1/log/topics/orders/records")
        expect([get.status, json(get).error]).toEqual([405, "method-not-allowed"])
        expect(produced).toEqual([])
      })))
})
