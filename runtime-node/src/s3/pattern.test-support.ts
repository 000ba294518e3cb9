/**
 * Deterministic pseudo-random bytes for upload tests: the AES-128-CTR
 * keystream of a seed, so a body of any size can be produced piece by piece
 * (never whole in memory), produced again to check what came back, and is
 * incompressible and different at every offset.
 */
import { createCipheriv } from "node:crypto"
import { Readable } from "node:stream"

const CHUNK = 1024 * 1024
const zeros = Buffer.alloc(CHUNK)

/** The successive pieces (1 MiB, the last one shorter) of the `size` bytes of `seed`'s pattern. */
export const patternPieces = function*(size: number, seed: number): Generator<Buffer> {
  const key = Buffer.alloc(16)
  key.writeUInt32BE(seed >>> 0)
  const cipher = createCipheriv("aes-128-ctr", key, Buffer.alloc(16))
  for (let sent = 0; sent < size; sent += CHUNK) {
    const n = Math.min(CHUNK, size - sent)
    yield cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n))
  }
}

/** The whole pattern as one buffer (for small bodies only). */
export const patternBytes = (size: number, seed: number): Buffer => Buffer.concat([...patternPieces(size, seed)])

/**
 * The pattern as a Readable that produces each piece only when the consumer
 * asks for more (backpressure), handing every piece to `seen` (for a running
 * hash) as it goes.
 */
export const patternStream = (size: number, seed: number, seen: (piece: Buffer) => void = () => undefined): Readable => {
  const pieces = patternPieces(size, seed)
  return new Readable({
    read() {
      const next = pieces.next()
      if (next.done === true) this.push(null)
      else {
        seen(next.value)
        this.push(next.value)
      }
    }
  })
}
