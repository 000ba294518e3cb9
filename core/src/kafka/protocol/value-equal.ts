/**
 * Structural equality of decoded values (numbers, bigints, strings,
 * booleans, null, byte arrays, arrays and plain records): the encoder
 * writes a tagged field only when it differs from its default, and refuses
 * a non-default value for a field its version lacks.
 */
export const valueEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i])
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => valueEqual(x, b[i]))
  }
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  if (keysA.length !== keysB.length) return false
  const ra = a as Readonly<Record<string, unknown>>
  const rb = b as Readonly<Record<string, unknown>>
  return keysA.every((k) => k in rb && valueEqual(ra[k], rb[k]))
}
