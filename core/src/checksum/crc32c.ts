/**
 * CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78): the
 * checksum of every byte Cairn puts on disk or on the wire.
 *
 * Pure JavaScript, slicing-by-16: sixteen 256-entry tables let the loop fold
 * sixteen input bytes per iteration with independent table lookups, which is
 * what makes a table CRC fast in V8 (see docs/adr/0004-crc32c.md for the
 * measurements against native and other JavaScript implementations). A long
 * range is read four bytes at a time through an `Int32Array` view (on a
 * little-endian host, which every platform Node runs on is): four loads per
 * sixteen bytes instead of sixteen, about 1.5× faster, the same value.
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

/** Is this host little-endian (a 32-bit word's first byte its lowest)? */
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** Ranges at least this long are read as words; below it the view costs more than it saves. */
const WORDS_FROM_BYTES = 256

export const crc32cUpdate = (crc: number, data: Uint8Array, start = 0, end = data.length): number => {
  // Sixteen separate table objects: V8 keeps each lookup a plain typed-array load.
  let c = ~crc | 0
  let i = start
  if (littleEndian && end - start >= WORDS_FROM_BYTES) {
    // Bytewise up to a 4-byte boundary of the buffer, then whole 16-byte blocks as words; the
    // bytes after the last block take the loops below.
    while (((data.byteOffset + i) & 3) !== 0) c = t0[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8)
    const count = ((end - i) >>> 4) << 2
    const words = new Int32Array(data.buffer, data.byteOffset + i, count)
    for (let w = 0; w < count; w += 4) {
      const a = words[w]! ^ c
      const b = words[w + 1]!
      const d = words[w + 2]!
      const e = words[w + 3]!
      c =
        t15[a & 255]! ^ t14[(a >>> 8) & 255]! ^ t13[(a >>> 16) & 255]! ^ t12[a >>> 24]! ^
        t11[b & 255]! ^ t10[(b >>> 8) & 255]! ^ t9[(b >>> 16) & 255]! ^ t8[b >>> 24]! ^
        t7[d & 255]! ^ t6[(d >>> 8) & 255]! ^ t5[(d >>> 16) & 255]! ^ t4[d >>> 24]! ^
        t3[e & 255]! ^ t2[(e >>> 8) & 255]! ^ t1[(e >>> 16) & 255]! ^ t0[e >>> 24]!
    }
    i += count * 4
  }
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
