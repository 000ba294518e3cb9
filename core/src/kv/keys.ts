/**
 * Keys: their order and their size.
 *
 * Keys sort in Unicode code point order, which is the byte order of their
 * UTF-8 encoding (what S3 listings and etcd ranges use), not JavaScript's
 * UTF-16 code unit order: the two differ when a character above U+FFFF
 * (a surrogate pair) meets one in U+E000..U+FFFF.
 */

/** Keys are non-empty and at most this many UTF-8 bytes. Range bounds obey the same cap. */
export const MAX_KEY_BYTES = 4096

/** Values are at most this many bytes (1 MiB). */
export const MAX_VALUE_BYTES = 1024 * 1024

/** Compares two strings in code point (= UTF-8 byte) order: negative, zero or positive. */
export const compareKeys = (a: string, b: string): number => {
  if (a === b) return 0
  const n = a.length < b.length ? a.length : b.length
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x !== y) {
      // Only when both units are >= U+D800 can UTF-16 order disagree with code point order:
      // move surrogates (which stand for code points >= U+10000) above U+E000..U+FFFF.
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000
      }
      return x - y
    }
  }
  return a.length - b.length
}

/** The length of `s` in UTF-8 bytes (a lone surrogate counts as U+FFFD, 3 bytes, as TextEncoder writes it). */
export const utf8Length = (s: string): number => {
  let bytes = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4
        i++
      } else bytes += 3
    } else bytes += 3
  }
  return bytes
}
