/**
 * CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78): the
 * checksum of every byte Cairn puts on disk or on the wire.
 *
 * Pure JavaScript, slicing-by-16: sixteen 256-entry tables let the loop fold
 * sixteen input bytes per iteration with independent table lookups, which is
 * what makes a table CRC fast in V8 (see docs/adr/0004-crc32c.md for the
 * measurements against native and other JavaScript implementations).
 */

const POLY = 0x82f63b78

/** tables[k * 256 + b]: the CRC of byte b followed by k zero bytes. */
const tables: Int32Array = (() => {
  const t = new Int32Array(16 * 256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    t[n] = c
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!
    for (let k = 1; k < 16; k++) {
      c = t[c & 0xff]! ^ (c >>> 8)
      t[k * 256 + n] = c
    }
  }
  return t
})()

/**
 * Extends `crc` (the CRC32C of earlier bytes, 0 for none) over
 * `data[start, end)`. `crc32cUpdate(crc32cUpdate(0, a), b)` equals the CRC of
 * `a` followed by `b`.
 */
export const crc32cUpdate = (crc: number, data: Uint8Array, start = 0, end = data.length): number => {
  const t = tables
  let c = ~crc | 0
  let i = start
  const fast = end - 16
  while (i <= fast) {
    const a = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))
    c =
      t[3840 + (a & 0xff)]! ^
      t[3584 + ((a >>> 8) & 0xff)]! ^
      t[3328 + ((a >>> 16) & 0xff)]! ^
      t[3072 + (a >>> 24)]! ^
      t[2816 + data[i + 4]!]! ^
      t[2560 + data[i + 5]!]! ^
      t[2304 + data[i + 6]!]! ^
      t[2048 + data[i + 7]!]! ^
      t[1792 + data[i + 8]!]! ^
      t[1536 + data[i + 9]!]! ^
      t[1280 + data[i + 10]!]! ^
      t[1024 + data[i + 11]!]! ^
      t[768 + data[i + 12]!]! ^
      t[512 + data[i + 13]!]! ^
      t[256 + data[i + 14]!]! ^
      t[data[i + 15]!]!
    i += 16
  }
  while (i < end) c = t[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}

/** The CRC32C of `data[start, end)` as an unsigned 32-bit integer. */
export const crc32c = (data: Uint8Array, start = 0, end = data.length): number => crc32cUpdate(0, data, start, end)

/** The naive bytewise table loop: the baseline the benchmark compares against. */
export const crc32cBytewise = (data: Uint8Array): number => {
  const t = tables
  let c = -1
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)
  return ~c >>> 0
}
