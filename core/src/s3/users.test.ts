import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { KvClient } from "../kv/client.ts"
import type { KvResult, RangeItem } from "../kv/command.ts"
import { compareKeys } from "../kv/keys.ts"
import { ADMIN_USER, KEY_PREFIX, makeUsers } from "./users.ts"

/** A KvClient over a plain map, with ranges limited to `pageSize` to exercise paging. */
const mapKv = (pageSize = 2): KvClient & { readonly map: Map<string, Uint8Array> } => {
  const map = new Map<string, Uint8Array>()
  let revision = 0
  const apply = (command: Parameters<KvClient["write"]>[0]): KvResult => {
    switch (command.op) {
      case "put":
        map.set(command.key, command.value)
        return { type: "put", revision: ++revision }
      case "delete":
        return { type: "delete", revision: ++revision, existed: map.delete(command.key) }
      case "cas": {
        const exists = map.has(command.key)
        if (command.expected === "absent" ? exists : !exists) return { type: "cas", ok: false, revision }
        if (command.value === undefined) map.delete(command.key)
        else map.set(command.key, command.value)
        return { type: "cas", ok: true, revision: ++revision }
      }
      case "get": {
        const value = map.get(command.key)
        return { type: "get", found: value !== undefined, value: value ?? new Uint8Array(), revision: value === undefined ? 0 : revision }
      }
      case "range": {
        const { start, end } = command
        const keys = [...map.keys()].filter((k) => compareKeys(k, start) >= 0 && (end === undefined || compareKeys(k, end) < 0)).sort(compareKeys)
        const items: Array<RangeItem> = keys.slice(0, Math.min(pageSize, command.limit)).map((key) => ({ key, value: map.get(key)!, revision }))
        return { type: "range", items, more: keys.length > items.length }
      }
    }
  }
  return { clientId: "test", map, write: (c) => Effect.sync(() => apply(c)), read: (c) => Effect.sync(() => apply(c)) }
}

const admin = { accessKey: "ADMINKEY00000000", secretKey: "admin-secret" }

describe("S3 users in the KV", () => {
  it("adds keys, finds their secrets, lists them across pages, and revokes them", () => {
    const kv = mapKv()
    const users = makeUsers(kv, admin)
    const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runSync(e)
    for (const [user, key] of [["alice", "ALICEKEY00000001"], ["bob", "BOBKEY0000000001"], ["alice", "ALICEKEY00000002"]] as const) {
      run(users.addKey({ user, accessKey: key, secretKey: `${key}-secret`, createdMs: 5 }))
    }
    expect(run(users.lookup("BOBKEY0000000001"))).toEqual({ user: "bob", secretKey: "BOBKEY0000000001-secret" })
    expect(run(users.lookup(admin.accessKey))).toEqual({ user: ADMIN_USER, secretKey: "admin-secret" })
    expect(run(users.listKeys).map((k) => [k.user, k.accessKey])).toEqual([["alice", "ALICEKEY00000001"], ["alice", "ALICEKEY00000002"], ["bob", "BOBKEY0000000001"]])
    expect([...kv.map.keys()].every((k) => k.startsWith(KEY_PREFIX))).toBe(true)
    expect(run(users.revoke("BOBKEY0000000001"))).toBe(true)
    expect(run(users.revoke("BOBKEY0000000001"))).toBe(false)
    expect(run(users.lookup("BOBKEY0000000001"))).toBeUndefined()
    expect(users.isAdmin(ADMIN_USER) && !users.isAdmin("alice")).toBe(true)
  })

  it("refuses a taken access key, the admin's key or name, and bad names", () => {
    const users = makeUsers(mapKv(), admin)
    const fail = (e: Effect.Effect<unknown, { readonly _tag: string }>) => Effect.runSync(Effect.match(e, { onFailure: (x) => x._tag, onSuccess: () => "ok" }))
    expect(fail(users.addKey({ user: "alice", accessKey: "ALICEKEY00000001", secretKey: "s", createdMs: 0 }))).toBe("ok")
    expect(fail(users.addKey({ user: "carol", accessKey: "ALICEKEY00000001", secretKey: "s", createdMs: 0 }))).toBe("InvalidUserError")
    expect(fail(users.addKey({ user: "carol", accessKey: admin.accessKey, secretKey: "s", createdMs: 0 }))).toBe("InvalidUserError")
    expect(fail(users.addKey({ user: ADMIN_USER, accessKey: "CAROLKEY00000001", secretKey: "s", createdMs: 0 }))).toBe("InvalidUserError")
    expect(fail(users.addKey({ user: "bad name", accessKey: "CAROLKEY00000001", secretKey: "s", createdMs: 0 }))).toBe("InvalidUserError")
    expect(fail(users.revoke(admin.accessKey))).toBe("InvalidUserError")
  })
})
