/**
 * A stored JSON value read back as an object whose fields a decoder then
 * checks one by one: bytes that are not UTF-8 JSON of an object are no
 * value (undefined), never a throw — a cursor or record written by another
 * version, or damaged, is then simply absent.
 */
const decoder = new TextDecoder()

export const decodeJsonRecord = (bytes: Uint8Array): Record<string, unknown> | undefined => {
  let j: unknown
  try {
    j = JSON.parse(decoder.decode(bytes))
  } catch {
    return undefined
  }
  return typeof j === "object" && j !== null && !Array.isArray(j) ? (j as Record<string, unknown>) : undefined
}
