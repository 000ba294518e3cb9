/**
 * The S3 layer's Digest service on node:crypto (MD5, SHA-1, SHA-256,
 * HMAC-SHA256) and node:zlib (CRC32); CRC32C is core's own. All native and
 * incremental, so a body is hashed as it streams.
 */
import { crc32cHasher, Digest, type DigestShape, type Hasher, uint32Bytes } from "@cairn/core/s3/digest"
import { Layer } from "effect"
import { createHash, createHmac } from "node:crypto"
import { crc32 } from "node:zlib"

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

export const nodeDigest: DigestShape = {
  hasher: (algorithm) => {
    switch (algorithm) {
      case "md5":
      case "sha1":
      case "sha256":
        return nodeHash(algorithm)
      case "crc32":
        return crc32Hasher()
      case "crc32c":
        return crc32cHasher()
    }
  },
  hmacSha256: (key, data) => new Uint8Array(createHmac("sha256", key).update(data).digest())
}

export const NodeDigestLive: Layer.Layer<Digest> = Layer.succeed(Digest, nodeDigest)
