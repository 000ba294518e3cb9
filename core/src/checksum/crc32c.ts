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
const [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15] = Array.from({ length: 16 }, (_, k) =>
  tables.subarray(k * 256, (k + 1) * 256)
) as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array]

export const crc32cUpdate = (crc: number, data: Uint8Array, start = 0, end = data.length): number => {
  // Sixteen separate table objects: V8 keeps each lookup a plain typed-array load.
  let c = ~crc | 0
  let i = start
  const fast = end - 15
  while (i < fast) {
    c =
      t15[data[i++]! ^ (c & 255)]! ^
      t14[data[i++]! ^ ((c >> 8) & 255)]! ^
      t13[data[i++]! ^ ((c >> 16) & 255)]! ^
      t12[data[i++]! ^ (c >>> 24)]! ^
      t11[data[i++]!]! ^
      t10[data[i++]!]! ^
      t9[data[i++]!]! ^
      t8[data[i++]!]! ^
      t7[data[i++]!]! ^
      t6[data[i++]!]! ^
      t5[data[i++]!]! ^
      t4[data[i++]!]! ^
      t3[data[i++]!]! ^
      t2[data[i++]!]! ^
      t1[data[i++]!]! ^
      t0[data[i++]!]!
  }
  while (i < end) c = t0[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8)
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
