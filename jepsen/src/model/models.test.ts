/**
 * Hand-written histories for every model: each names the behaviour it
 * shows and the verdict it must get. Invalid cases are built by changing
 * one value of a valid case, so both verdicts are exercised.
 */
import { describe, expect, it } from "vitest"
import { checkHistory } from "../checker/check-history.ts"
import { parseDsl } from "../history/dsl.ts"
import { parseEdnHistory } from "../history/formats.ts"
import type { ModelName } from "./registry.ts"
import { makeModel } from "./registry.ts"

const verdict = (model: ModelName, history: string, options = {}) =>
  checkHistory(makeModel(model, options), parseDsl(history)).verdict

interface Case {
  readonly name: string
  readonly history: string
  readonly valid: boolean
}

const registerCases: ReadonlyArray<Case> = [
  {
    name: "concurrent overlapping writes, read sees the one linearized last",
    history: `0 invoke write 1
              1 invoke write 2
              0 ok write 1
              1 ok write 2
              2 invoke read
              2 ok read 1`,
    valid: true
  },
  {
    name: "stale read: a read after a completed write sees the old value",
    history: `0 invoke write 1
              0 ok write 1
              0 invoke write 2
              0 ok write 2
              1 invoke read
              1 ok read 1`,
    valid: false
  },
  {
    name: "lost write: an acknowledged write is never seen, reads go back to nil",
    history: `0 invoke write 1
              0 ok write 1
              1 invoke read
              1 ok read nil`,
    valid: false
  },
  {
    name: "an info write, read later: it took effect",
    history: `0 invoke write 1
              0 info write 1
              1 invoke read
              1 ok read 1
              1 invoke read
              1 ok read 1`,
    valid: true
  },
  {
    name: "an info write never read: it did not take effect",
    history: `0 invoke write 1
              0 info write 1
              1 invoke read
              1 ok read nil`,
    valid: true
  },
  {
    name: "an info write cannot take effect twice: read 1, then 2, then 1 again",
    history: `0 invoke write 1
              0 info write 1
              1 invoke write 2
              1 ok write 2
              2 invoke read
              2 ok read 1
              2 invoke read
              2 ok read 2`,
    valid: false
  },
  {
    name: "a failed write did not happen",
    history: `0 invoke write 1
              0 fail write 1
              1 invoke read
              1 ok read 1`,
    valid: false
  },
  {
    name: "an op still open at the end (no completion) is like info",
    history: `0 invoke write 3
              1 invoke read
              1 ok read 3`,
    valid: true
  }
]

const casCases: ReadonlyArray<Case> = [
  {
    name: "cas from the current value succeeds",
    history: `0 invoke write 1
              0 ok write 1
              1 invoke cas [1 2]
              1 ok cas [1 2]
              2 invoke read
              2 ok read 2`,
    valid: true
  },
  {
    name: "cas succeeded against a value the register never held",
    history: `0 invoke write 1
              0 ok write 1
              1 invoke cas [5 2]
              1 ok cas [5 2]`,
    valid: false
  },
  {
    name: "two concurrent cas from the same value cannot both succeed",
    history: `0 invoke write 0
              0 ok write 0
              1 invoke cas [0 1]
              2 invoke cas [0 2]
              1 ok cas [0 1]
              2 ok cas [0 2]`,
    valid: false
  },
  {
    name: "an info cas read later took effect",
    history: `0 invoke write 0
              0 ok write 0
              1 invoke cas [0 7]
              1 info cas [0 7]
              2 invoke read
              2 ok read 7`,
    valid: true
  },
  {
    name: "a failed cas (Jepsen: did not happen) never shows",
    history: `0 invoke write 0
              0 ok write 0
              1 invoke cas [0 7]
              1 fail cas [0 7]
              2 invoke read
              2 ok read 7`,
    valid: false
  }
]

const kvCases: ReadonlyArray<Case> = [
  {
    name: "independent keys: each key's register is checked on its own",
    history: `0 invoke write [a 1]
              1 invoke write [b 2]
              0 ok write [a 1]
              1 ok write [b 2]
              2 invoke read [a nil]
              2 ok read [a 1]
              2 invoke read [b nil]
              2 ok read [b 2]`,
    valid: true
  },
  {
    name: "a read of key b sees key a's value",
    history: `0 invoke write [a 1]
              0 ok write [a 1]
              2 invoke read [b nil]
              2 ok read [b 1]`,
    valid: false
  },
  {
    name: "stale read on one key",
    history: `0 invoke write [a 1]
              0 ok write [a 1]
              0 invoke write [a 2]
              0 ok write [a 2]
              1 invoke read [a nil]
              1 ok read [a 1]`,
    valid: false
  },
  {
    name: "an info write on one key, read later",
    history: `0 invoke write [a 1]
              0 info write [a 1]
              1 invoke read [a nil]
              1 ok read [a 1]`,
    valid: true
  },
  {
    name: "an info cas on one key never read",
    history: `0 invoke write [a 1]
              0 ok write [a 1]
              1 invoke cas [a [1 2]]
              1 info cas [a [1 2]]
              2 invoke read [a nil]
              2 ok read [a 1]`,
    valid: true
  }
]

/** Porcupine-style kv with get/put/append and a separate :key field, initial "". */
const porcupineKv = (lines: string) =>
  lines
    .trim()
    .split("\n")
    .map((l) => {
      const [p, type, f, key, ...v] = l.trim().split(/\s+/)
      const value = v.length ? `"${v.join(" ")}"` : type === "ok" && f === "get" ? '""' : "nil"
      return `{:process ${p} :type :${type} :f :${f} :key "${key}" :value ${value}}`
    })
    .join("\n")

const listCases: ReadonlyArray<Case> = [
  {
    name: "concurrent appends, reads see them in one order",
    history: `0 invoke append 1
              1 invoke append 2
              0 ok append 1
              1 ok append 2
              2 invoke read
              2 ok read [2 1]
              2 invoke read
              2 ok read [2 1]`,
    valid: true
  },
  {
    name: "two reads disagree on the order of appends",
    history: `0 invoke append 1
              1 invoke append 2
              0 ok append 1
              1 ok append 2
              2 invoke read
              2 ok read [2 1]
              2 invoke read
              2 ok read [1 2]`,
    valid: false
  },
  {
    name: "stale read: misses an append that completed before it",
    history: `0 invoke append 1
              0 ok append 1
              0 invoke append 2
              0 ok append 2
              1 invoke read
              1 ok read [1]`,
    valid: false
  },
  {
    name: "an info append seen later",
    history: `0 invoke append 1
              0 info append 1
              1 invoke append 2
              1 ok append 2
              2 invoke read
              2 ok read [2 1]`,
    valid: true
  },
  {
    name: "an info append never seen",
    history: `0 invoke append 1
              0 info append 1
              1 invoke append 2
              1 ok append 2
              2 invoke read
              2 ok read [2]`,
    valid: true
  }
]

const setCases: ReadonlyArray<Case> = [
  {
    name: "reads of a set ignore order",
    history: `0 invoke add 1
              1 invoke add 2
              0 ok add 1
              1 ok add 2
              2 invoke read
              2 ok read #{2 1}`,
    valid: true
  },
  {
    name: "lost add: an acknowledged add missing from a later read",
    history: `0 invoke add 1
              0 ok add 1
              1 invoke add 2
              1 ok add 2
              2 invoke read
              2 ok read #{2}`,
    valid: false
  },
  {
    name: "an element appears that no one added",
    history: `0 invoke add 1
              0 ok add 1
              2 invoke read
              2 ok read #{1 9}`,
    valid: false
  },
  {
    name: "an info add seen later",
    history: `0 invoke add 1
              0 info add 1
              2 invoke read
              2 ok read #{1}`,
    valid: true
  },
  {
    name: "an info add never seen",
    history: `0 invoke add 1
              0 info add 1
              2 invoke read
              2 ok read #{}`,
    valid: true
  },
  {
    name: "a set that shrinks",
    history: `0 invoke add 1
              0 info add 1
              2 invoke read
              2 ok read #{1}
              2 invoke read
              2 ok read #{}`,
    valid: false
  }
]

const queueCases: ReadonlyArray<Case> = [
  {
    name: "concurrent enqueues, dequeued in either order",
    history: `0 invoke enqueue 1
              1 invoke enqueue 2
              0 ok enqueue 1
              1 ok enqueue 2
              2 invoke dequeue
              2 ok dequeue 2
              2 invoke dequeue
              2 ok dequeue 1`,
    valid: true
  },
  {
    name: "FIFO violated: sequential enqueues dequeued in reverse",
    history: `0 invoke enqueue 1
              0 ok enqueue 1
              0 invoke enqueue 2
              0 ok enqueue 2
              2 invoke dequeue
              2 ok dequeue 2`,
    valid: false
  },
  {
    name: "an element dequeued twice",
    history: `0 invoke enqueue 1
              0 ok enqueue 1
              2 invoke dequeue
              2 ok dequeue 1
              3 invoke dequeue
              3 ok dequeue 1`,
    valid: false
  },
  {
    name: "lost enqueue: the queue reads empty after an acknowledged enqueue",
    history: `0 invoke enqueue 1
              0 ok enqueue 1
              2 invoke dequeue
              2 ok dequeue nil`,
    valid: false
  },
  {
    name: "an info enqueue dequeued later",
    history: `0 invoke enqueue 1
              0 info enqueue 1
              2 invoke dequeue
              2 ok dequeue 1`,
    valid: true
  },
  {
    name: "an info enqueue never dequeued",
    history: `0 invoke enqueue 1
              0 info enqueue 1
              2 invoke dequeue
              2 ok dequeue nil`,
    valid: true
  },
  {
    name: "an info dequeue took the element: a later dequeue sees empty",
    history: `0 invoke enqueue 1
              0 ok enqueue 1
              1 invoke dequeue
              1 info dequeue
              2 invoke dequeue
              2 ok dequeue nil`,
    valid: true
  }
]

const suites: ReadonlyArray<readonly [ModelName, ReadonlyArray<Case>]> = [
  ["register", registerCases],
  ["cas-register", [...registerCases, ...casCases]],
  ["kv", kvCases],
  ["list-append", listCases],
  ["set", setCases],
  ["queue", queueCases]
]

for (const [model, cases] of suites) {
  describe(model, () => {
    it("has both valid and invalid cases", () => {
      expect(cases.some((c) => c.valid)).toBe(true)
      expect(cases.some((c) => !c.valid)).toBe(true)
    })
    it.each(cases)("$name", (c) => {
      expect(verdict(model, c.history)).toBe(c.valid ? "valid" : "invalid")
    })
  })
}

describe("register with cas", () => {
  it("rejects cas on a plain register", () => {
    expect(() => verdict("register", "0 invoke cas [1 2]\n0 ok cas [1 2]")).toThrow(/cas/)
  })
  it("Porcupine's etcd meaning of a failed cas: the compare failed, checked against the state", () => {
    const h = `0 invoke write 1
               0 ok write 1
               1 invoke cas [1 2]
               1 fail cas [1 2]`
    expect(verdict("cas-register", h)).toBe("valid")
    expect(verdict("cas-register", h, { failedCas: "compare-failed" })).toBe("invalid")
    expect(verdict("cas-register", h.replace(/\[1 2\]/g, "[3 2]"), { failedCas: "compare-failed" })).toBe("valid")
  })
})

describe("kv with Porcupine's get/put/append", () => {
  const history = (secondGet: string) =>
    parseEdnHistory(
      porcupineKv(`
    0 invoke append k x0
    1 invoke append k x1
    0 ok append k x0
    1 ok append k x1
    2 invoke get k
    2 ok get k x1x0
    2 invoke get k
    2 ok get k ${secondGet}
    2 invoke put k y
    2 ok put k y
    3 invoke get j
    3 ok get j`)
    )
  it("appends concatenate in linearization order; a missing key reads \"\"", () => {
    expect(checkHistory(makeModel("kv", { initial: "" }), history("x1x0")).verdict).toBe("valid")
  })
  it("rejects two gets that saw the appends in different orders", () => {
    expect(checkHistory(makeModel("kv", { initial: "" }), history("x0x1")).verdict).toBe("invalid")
  })
})
