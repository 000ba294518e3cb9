import { describe, expect, it } from "vitest"
import { murmur2, partitionForKey } from "./key-partitioner.ts"

const bytes = (s: string) => new TextEncoder().encode(s)

describe("Kafka's key partitioner", () => {
  it("hashes as Kafka's Utils.murmur2 (vectors of Kafka's UtilsTest; abc checked against @platformatic/kafka's port)", () => {
    expect(murmur2(bytes("21"))).toBe(-973932308)
    expect(murmur2(bytes("foobar"))).toBe(-790332482)
    expect(murmur2(bytes("a-little-bit-long-string"))).toBe(-985981536)
    expect(murmur2(bytes("a-little-bit-longer-string"))).toBe(-1486304829)
    expect(murmur2(bytes("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"))).toBe(-58897971)
    expect(murmur2(bytes("abc"))).toBe(479470107)
  })

  it("makes the hash positive, then takes it modulo the partitions", () => {
    // -973932308 & 0x7fffffff = 1173551340; % 6 = 0, % 7 = 1173551340 - 7 * 167650191 = 3
    expect([partitionForKey(bytes("21"), 6), partitionForKey(bytes("21"), 7), partitionForKey(bytes("21"), 1)]).toEqual([1173551340 % 6, 3, 0])
  })
})
