import { Context, Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { crc32c } from "./crc32c.ts"
import { Crc32c, Crc32cPure, type Crc32cShape, pureCrc32c, withCrc32c } from "./crc32c-service.ts"

class Named extends Context.Service<Named, { readonly name: string }>()("test/Named") {}

/** A binding that differs from the pure one, to tell which the service gave. */
const marked: Crc32cShape = { implementation: "marked", crc32c: () => 7, crc32cUpdate: () => 7 }

describe("the Crc32c service", () => {
  it("is the pure implementation when nothing is provided, and through Crc32cPure", () => {
    const read = Effect.gen(function*() {
      return yield* Crc32c
    })
    expect(Effect.runSync(read)).toBe(pureCrc32c)
    expect(Effect.runSync(Effect.provide(read, Crc32cPure))).toBe(pureCrc32c)
    expect(pureCrc32c.crc32c(new TextEncoder().encode("123456789"))).toBe(0xe3069283)
  })

  it("is what a layer binds", () => {
    const read = Effect.gen(function*() {
      return yield* Crc32c
    })
    expect(Effect.runSync(Effect.provide(read, Layer.succeed(Crc32c, marked))).implementation).toBe("marked")
  })

  it("withCrc32c reads another service and the checksum together", () => {
    const named = Layer.succeed(Named, { name: "n" })
    const [service, checksum] = Effect.runSync(Effect.provide(withCrc32c(Named), named))
    expect(service.name).toBe("n")
    expect(checksum).toBe(pureCrc32c)
    const [, bound] = Effect.runSync(Effect.provide(withCrc32c(Named), Layer.merge(named, Layer.succeed(Crc32c, marked))))
    expect(bound.crc32c(new Uint8Array(3))).toBe(7)
    expect(crc32c(new Uint8Array(3))).not.toBe(7)
  })
})
