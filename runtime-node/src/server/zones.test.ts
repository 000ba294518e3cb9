import { describe, expect, it } from "vitest"
import { fakeKv, runRounds } from "./node-records.test-support.ts"
import { makeZones, ZONE_PREFIX } from "./zones.ts"

describe("zones", () => {
  it("publishes this node's zone, reads everyone's, and gives members without one their own domain", async () => {
    const store = new Map([[`${ZONE_PREFIX}n2`, new TextEncoder().encode("rack-b")]])
    const zones = makeZones({ self: "n1", zone: "rack-a", requestTimeoutMs: 100 }, fakeKv(store))
    await runRounds(zones.sync, 2)
    expect(new TextDecoder().decode(store.get(`${ZONE_PREFIX}n1`))).toBe("rack-a")
    expect(zones.domainOf("n1")).toBe("zone:rack-a")
    expect(zones.domainOf("n2")).toBe("zone:rack-b")
    // No record: its own domain, which a zone named like it never shares.
    expect(zones.domainOf("n3")).toBe("node:n3")
  })

  it("removes its record when the node runs without --zone, and keeps retrying while writes fail", async () => {
    const store = new Map([[`${ZONE_PREFIX}n1`, new TextEncoder().encode("old")]])
    const failing = makeZones({ self: "n1", zone: "new", requestTimeoutMs: 100 }, fakeKv(store, true))
    await runRounds(failing.sync, 2)
    expect(failing.domainOf("n1")).toBe("zone:old")
    const cleared = makeZones({ self: "n1", zone: undefined, requestTimeoutMs: 100 }, fakeKv(store))
    await runRounds(cleared.sync, 2)
    expect(store.has(`${ZONE_PREFIX}n1`)).toBe(false)
    expect(cleared.domainOf("n1")).toBe("node:n1")
  })
})
