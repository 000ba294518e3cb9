import { describe, expect, it } from "vitest"
import { decodeCursor, encodeCursor, freshCursor, type LifecycleCursor } from "./cursor.ts"

const encoder = new TextEncoder()

describe("the lifecycle cursor", () => {
  it("reads back what it wrote, a fresh pass and one in the middle of a key", () => {
    const fresh = freshCursor(3, 1_800_000_000_000)
    expect(decodeCursor(encodeCursor(fresh))).toEqual(fresh)
    const midway: LifecycleCursor = {
      ...fresh,
      bucket: "logs",
      phase: "versions",
      keyMarker: "a/b",
      versionIdMarker: "999999999999998-3k9x0q1mzc2b",
      keyState: { key: "a/b", newerCreatedMs: 1_799_000_000_000, noncurrentSeen: 2 },
      totals: { entriesScanned: 10, objectsExpired: 1, versionsExpired: 2, markersRemoved: 3, uploadsAborted: 4 }
    }
    expect(decodeCursor(encodeCursor(midway))).toEqual(midway)
  })

  it("treats an unreadable or foreign value as no cursor (a fresh pass)", () => {
    const good = JSON.parse(new TextDecoder().decode(encodeCursor(freshCursor(1, 0)))) as Record<string, unknown>
    const bad = [
      "not json",
      "null",
      JSON.stringify({ ...good, v: 2 }),
      JSON.stringify({ ...good, phase: "parts" }),
      JSON.stringify({ ...good, pass: -1 }),
      JSON.stringify({ ...good, keyState: { key: "k", newerCreatedMs: "x", noncurrentSeen: 0 } }),
      JSON.stringify({ ...good, totals: { entriesScanned: 1 } })
    ]
    expect(bad.map((text) => decodeCursor(encoder.encode(text)))).toEqual(bad.map(() => undefined))
    expect(decodeCursor(encoder.encode(JSON.stringify(good)))).toEqual(freshCursor(1, 0))
  })
})
