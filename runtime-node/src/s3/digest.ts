/**
 * The S3 layer's Digest service on node:crypto (MD5, SHA-1, SHA-256,
 * HMAC-SHA256), node:zlib (CRC32) and the Crc32c service (CRC32C; native in
 * production, see ../checksum/native-crc32c.ts). All incremental, so a body
 * is hashed as it streams.
 */
import { Crc32c, type Crc32cShape } from "@cairn/core/checksum/crc32c-service"
import { crc32cHasher, Digest, type DigestShape, type Hasher, uint32Bytes } from "@cairn/core/s3/digest"
import { Layer } from "effect"
import { createHash, createHmac } from "node:crypto"
import { crc32 } from "node:zlib"
import { nativeCrc32c } from "../checksum/native-crc32c.ts"

const nodeHash = (algorithm: "md5" | "sha1" | "sha256"): Hasher => {
  const h = createHash(algorithm)
  return {
    update: (data) => {
      h.update(data)
    },
    digest: () => new Uint8Array(h.digest())
  }
}

const crc32Hasher = (): Hasher => {
  let crc = 0
  return {
    update: (data) => {
      crc = crc32(data, crc)
    },
    digest: () => uint32Bytes(crc)
  }
}

/** The Digest with CRC32C from `checksum`. */
export const makeNodeDigest = (checksum: Crc32cShape): DigestShape => ({
  hasher: (algorithm) => {
    switch (algorithm) {
      case "md5":
      case "sha1":
      case "sha256":
        return nodeHash(algorithm)
      case "crc32":
        return crc32Hasher()
      case "crc32c":
        return crc32cHasher(checksum)
    }
  },
  hmacSha256: (key, data) => new Uint8Array(createHmac("sha256", key).update(data).digest())
})

/** The Digest with the native CRC32C, for callers outside any layer (signing clients, the HTTP API). */
export const nodeDigest: DigestShape = makeNodeDigest(nativeCrc32c)

/** The Digest over whatever Crc32c service is bound where the layer is built (the server binds the native one). */
export const NodeDigestLive: Layer.Layer<Digest> = Layer.effect(Digest, Crc32c.useSync(makeNodeDigest))
