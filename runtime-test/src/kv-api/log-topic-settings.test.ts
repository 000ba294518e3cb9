/**
 * Changing a topic's settings through the log API (`PATCH
 * /v1/log/topics/{topic}`), as the console's topic page does: retention by
 * age and by size set and removed with the admin's key; another user's key
 * refused; settings fixed at creation, empty or malformed bodies refused
 * with a 4xx that says what to do instead.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { ADMIN, json, withLogApi } from "./log-api-harness.test-support.ts"

const noSeed = () => Effect.void

describe("the log API: topic settings after creation", () => {
  it("sets and removes retention with the admin's key, and describes the topic with it", () =>
    withLogApi(noSeed, (api) =>
      Effect.gen(function*() {
        const set = yield* api("/v1/log/topics/orders", { method: "PATCH", caller: ADMIN, body: { retentionMs: 3_600_000, retentionBytes: 1_000_000 } })
        expect([set.status, json(set).retentionMs, json(set).retentionBytes, json(set).partitions]).toEqual([200, 3_600_000, 1_000_000, 2])
        const removed = yield* api("/v1/log/topics/orders", { method: "PATCH", caller: ADMIN, body: { retentionMs: null } })
        expect([removed.status, json(removed).retentionMs, json(removed).retentionBytes]).toEqual([200, undefined, 1_000_000])
        const described = yield* api("/v1/log/topics/orders")
        expect([json(described).retentionMs, json(described).retentionBytes]).toEqual([undefined, 1_000_000])
      })))

  it("refuses another user's key, settings fixed at creation and bad values, saying why", () =>
    withLogApi(noSeed, (api) =>
      Effect.gen(function*() {
        const patch = (body: unknown, caller = ADMIN) => api("/v1/log/topics/orders", { method: "PATCH", caller, body })
        const bob = yield* api("/v1/log/topics/orders", { method: "PATCH", body: { retentionMs: 1 } })
        expect([bob.status, json(bob).error]).toEqual([403, "forbidden"])
        const fixed = yield* patch({ maxMessageBytes: 2_000_000 })
        expect([fixed.status, json(fixed).error, json(fixed).message]).toEqual([400, "fixed-setting", "maxMessageBytes cannot change: the largest batch is fixed when the topic is created (each replica's log is opened with it)"])
        const partitions = yield* patch({ partitions: 4 })
        expect(json(partitions).message).toContain("POST /v1/log/topics/{topic}/partitions")
        const unknownSetting = yield* patch({ "cleanup.policy": "compact" })
        expect([unknownSetting.status, json(unknownSetting).message]).toEqual([400, "cleanup.policy is not a topic setting; a topic's retentionMs and retentionBytes change"])
        const negative = yield* patch({ retentionMs: -5 })
        expect([negative.status, json(negative).error]).toEqual([400, "bad-number"])
        const text = yield* patch({ retentionBytes: "lots" })
        expect([text.status, json(text).error]).toEqual([400, "bad-number"])
        const empty = yield* patch({})
        expect([empty.status, json(empty).error]).toEqual([400, "nothing-to-change"])
        const unknownTopic = yield* api("/v1/log/topics/nope", { method: "PATCH", caller: ADMIN, body: { retentionMs: 1 } })
        expect([unknownTopic.status, json(unknownTopic).error]).toEqual([404, "unknown-topic"])
        const put = yield* api("/v1/log/topics/orders", { method: "PUT", caller: ADMIN, body: { retentionMs: 1 } })
        expect([put.status, json(put).error]).toEqual([405, "method-not-allowed"])
        // Nothing refused changed the topic.
        const described = yield* api("/v1/log/topics/orders")
        expect([json(described).retentionMs, json(described).retentionBytes]).toEqual([undefined, undefined])
      })))
})
