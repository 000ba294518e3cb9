/** Reading histories: the EDN reader, JSON lines, Jepsen history.edn, Porcupine's logs, pairing. */
import { describe, expect, it } from "vitest"
import { readAll, readOne } from "./edn.ts"
import { detectFormat, parseEdnHistory, parseEtcdLog, parseHistory, parseJsonLines, toJsonLines } from "./formats.ts"
import { pairOps } from "./op.ts"

describe("EDN reader", () => {
  it("reads maps, vectors, keywords, strings, numbers, nil and booleans", () => {
    expect(readOne(`{:type :ok, :f :read, :value [1 -2.5 "a\\"b" nil true], :n 3N}`)).toEqual({
      type: "ok",
      f: "read",
      value: [1, -2.5, 'a"b', null, true],
      n: 3
    })
  })
  it("reads sets and lists as arrays, skips comments, discards and tags", () => {
    expect(readAll(`#{1 2} (3 4) ; comment\n #_ :gone #jepsen.history.Op{:a 1} \\x`)).toEqual([[1, 2], [3, 4], { a: 1 }, "x"])
  })
  it("reads independent [key value] tuples", () => {
    expect(readOne(`{:value [:k1 [3 4]]}`)).toEqual({ value: ["k1", [3, 4]] })
  })
  it("rejects malformed input", () => {
    expect(() => readOne("{:a 1")).toThrow(/missing/)
    expect(() => readOne("{:a}")).toThrow(/odd/)
    expect(() => readOne(`"abc`)).toThrow(/unterminated/)
  })
})

describe("history formats", () => {
  const edn = `{:index 0 :time 10 :type :invoke :process 0 :f :write :value 1}
{:index 1 :time 20 :type :invoke :process :nemesis :f :start :value nil}
{:index 2 :time 30 :type :ok :process 0 :f :write :value 1}`
  it("reads history.edn, keeping the nemesis apart from clients", () => {
    const h = parseEdnHistory(edn)
    expect(h.map((o) => [o.index, o.process, o.type, o.f])).toEqual([
      [0, 0, "invoke", "write"],
      [1, "nemesis", "invoke", "start"],
      [2, 0, "ok", "write"]
    ])
    expect(h[2]!.time).toBe(30)
    expect(pairOps(h)).toHaveLength(1)
  })
  it("reads a history that is one EDN vector", () => {
    expect(parseEdnHistory(`[{:type :invoke :process 0 :f :read} {:type :ok :process 0 :f :read :value 3}]`)[1]!.value).toBe(3)
  })
  it("round-trips JSON lines", () => {
    const h = parseEdnHistory(edn)
    expect(parseJsonLines(toJsonLines(h))).toEqual(h)
    expect(detectFormat(toJsonLines(h))).toBe("json")
    expect(detectFormat(edn)).toBe("edn")
  })
  it("reads Porcupine's etcd logs with tabs or spaces, skipping other lines", () => {
    const log = `INFO  jepsen.util - 0\t:invoke\t:cas\t[1 2]
INFO  jepsen.core - something else
INFO  jepsen.util - 0   :fail   :cas    [1 2]
INFO  jepsen.util - 3   :fail   :read   :timed-out`
    expect(detectFormat(log)).toBe("etcd-log")
    expect(parseEtcdLog(log).map((o) => [o.process, o.type, o.f, o.value])).toEqual([
      [0, "invoke", "cas", [1, 2]],
      [0, "fail", "cas", [1, 2]],
      [3, "fail", "read", "timed-out"]
    ])
  })
  it("reads Porcupine's kv logs (the :key field is kept)", () => {
    const h = parseHistory(`{:process 1, :type :invoke, :f :get, :key "9", :value nil}\n{:process 1, :type :ok, :f :get, :key "9", :value "x"}`)
    expect(h[1]).toMatchObject({ key: "9", value: "x", f: "get" })
  })
})

describe("pairing", () => {
  it("matches a completion with its process's open invoke", () => {
    const h = parseEdnHistory(`{:type :invoke :process 0 :f :a}
{:type :invoke :process 1 :f :b}
{:type :ok :process 1 :f :b}
{:type :info :process 0 :f :a}
{:type :invoke :process 2 :f :c}`)
    const p = pairOps(h)
    expect(p.map((x) => [x.invoke.f, x.completion?.type])).toEqual([
      ["a", "info"],
      ["b", "ok"],
      ["c", undefined]
    ])
  })
  it("rejects a completion without an invoke and a second invoke on a busy process", () => {
    expect(() => pairOps(parseEdnHistory(`{:type :ok :process 0 :f :a}`))).toThrow(/no open invoke/)
    expect(() => pairOps(parseEdnHistory(`{:type :invoke :process 0 :f :a}\n{:type :invoke :process 0 :f :a}`))).toThrow(/still open/)
  })
})
