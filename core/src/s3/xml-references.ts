/**
 * Decoding XML references in the text of S3 request bodies: the five named
 * entities (`&amp;` `&lt;` `&gt;` `&quot;` `&apos;`) and numeric character
 * references, decimal (`&#34;`) and hex (`&#x22;`). Go's encoding/xml (rclone,
 * restic, minio-go) writes quotes as `&#34;` and apostrophes as `&#39;`, so an
 * ETag or a key must come out of these as the character, not as the text.
 *
 * Anything else that starts with `&` is refused: an unknown name (there is no
 * DTD to define one; DTDs are refused before parsing), a code point XML
 * cannot carry (NUL, a surrogate, past U+10FFFF), or a bare `&`. Control
 * characters other than NUL are accepted as references because S3 (and
 * Cairn's own responses, see xml-render.ts) write keys holding them that way.
 */

const named: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }

/** The character a reference's body (between `&` and `;`) stands for, or why it stands for none. */
const resolve = (body: string): string | { readonly invalid: string } => {
  const name = named[body]
  if (name !== undefined) return name
  const m = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(body)
  if (m === null) return { invalid: `unknown entity &${body.slice(0, 32)};` }
  const digits = (m[1] ?? m[2]!).replace(/^0+(?=.)/, "")
  // More digits than U+10FFFF has cannot be a character (and parseInt would lose precision).
  const code = digits.length > 8 ? Infinity : parseInt(digits, m[1] !== undefined ? 16 : 10)
  if (code === 0) return { invalid: "character reference to NUL" }
  if (code >= 0xd800 && code <= 0xdfff) return { invalid: `character reference to a surrogate (&${body};)` }
  if (code > 0x10ffff) return { invalid: `character reference out of range (&${body.slice(0, 32)};)` }
  return String.fromCodePoint(code)
}

const reference = /&(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z_:][A-Za-z0-9_:.-]*);/y

/** `text` with every reference replaced, or the first invalid reference. */
export const decodeXmlReferences = (text: string): string | { readonly invalid: string } => {
  if (!text.includes("&")) return text
  let out = ""
  let from = 0
  for (;;) {
    const amp = text.indexOf("&", from)
    if (amp < 0) return out + text.slice(from)
    reference.lastIndex = amp
    const m = reference.exec(text)
    if (m === null) return { invalid: "a bare & (not the start of a reference)" }
    const char = resolve(m[1]!)
    if (typeof char !== "string") return char
    out += text.slice(from, amp) + char
    from = reference.lastIndex
  }
}

/**
 * An entity decoder for fast-xml-parser's `entityDecoder` option that records
 * the first invalid reference of a document (reset at each parse) instead of
 * throwing, so the caller answers MalformedXML. DTD entities are never added:
 * documents with a DOCTYPE are refused before they reach the parser.
 */
export const makeReferenceDecoder = () => {
  let problem: string | undefined
  return {
    problem: (): string | undefined => problem,
    decoder: {
      decode: (text: string): string => {
        const decoded = decodeXmlReferences(text)
        if (typeof decoded === "string") return decoded
        problem ??= decoded.invalid
        return text
      },
      reset: () => {
        problem = undefined
      },
      setExternalEntities: () => undefined,
      addInputEntities: () => undefined,
      setXmlVersion: () => undefined
    }
  }
}
