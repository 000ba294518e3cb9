/**
 * Rendering S3's XML responses. Text is always escaped (including the
 * control characters XML 1.0 cannot carry literally, which S3 keys may
 * contain, and carriage returns, which XML parsers would turn into line
 * feeds), so a key or a message can never break a document or change.
 */

/** Rendered markup: distinguishes a child element from text that must be escaped. */
export interface Xml {
  readonly xml: string
}

export type XmlChild = Xml | string | number | boolean | undefined | ReadonlyArray<XmlChild>

export const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"

export const escapeXml = (text: string): string =>
  text.replace(/[&<>"'\u0000-\u0008\u000b\u000c\r\u000e-\u001f\ufffe\uffff]/g, (c) => {
    switch (c) {
      case "&":
        return "&amp;"
      case "<":
        return "&lt;"
      case ">":
        return "&gt;"
      case '"':
        return "&quot;"
      case "'":
        return "&apos;"
      default:
        return `&#x${c.charCodeAt(0).toString(16)};`
    }
  })

const render = (child: XmlChild): string => {
  if (child === undefined) return ""
  if (typeof child === "string") return escapeXml(child)
  if (typeof child === "number" || typeof child === "boolean") return String(child)
  if (Array.isArray(child)) return (child as ReadonlyArray<XmlChild>).map(render).join("")
  return (child as Xml).xml
}

/** `<name>content</name>`; `attributes` are escaped too. */
export const xmlElement = (name: string, content?: XmlChild, attributes?: ReadonlyArray<readonly [string, string]>): Xml => {
  const attrs = (attributes ?? []).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join("")
  return { xml: `<${name}${attrs}>${render(content)}</${name}>` }
}

/** The element, or nothing when `value` is undefined (optional response fields). */
export const xmlOptional = (name: string, value: string | number | boolean | undefined): XmlChild =>
  value === undefined ? undefined : xmlElement(name, value)

/** A whole response document with the XML declaration. */
export const xmlDocument = (root: Xml): string => `<?xml version="1.0" encoding="UTF-8"?>\n${root.xml}`

/** A root element in S3's namespace. */
export const s3Root = (name: string, content: XmlChild): Xml => xmlElement(name, content, [["xmlns", S3_NAMESPACE]])
