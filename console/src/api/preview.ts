/**
 * What the details page can show of an object, and the bytes for it:
 * images whole up to IMAGE_LIMIT (as a blob: URL, which the page's CSP
 * allows and which runs no script even for SVG, since an <img> never does),
 * text and JSON as their first TEXT_LIMIT bytes (an S3 Range read, so a
 * 5 GB log costs 64 KiB), PDFs whole up to PDF_LIMIT (drawn by api/pdf.ts).
 * Anything else is not previewed.
 */
import { call } from "./client.ts"
import { s3Path } from "./s3.ts"

export const IMAGE_LIMIT = 10 * 1024 * 1024
export const TEXT_LIMIT = 64 * 1024
/** A PDF is read whole to be drawn: the same bound as an image. */
export const PDF_LIMIT = IMAGE_LIMIT

export type PreviewKind = "image" | "pdf" | "json" | "text" | "none"

const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/svg+xml", "image/bmp", "image/x-icon"]
const TEXT_TYPES = ["application/xml", "application/javascript", "application/x-ndjson", "application/yaml", "application/x-yaml", "application/toml", "application/sql"]
const TEXT_EXTENSIONS = ["txt", "md", "csv", "tsv", "log", "yaml", "yml", "toml", "ini", "conf", "xml", "html", "css", "js", "ts", "tsx", "py", "go", "rs", "sh", "sql", "ndjson"]
const IMAGE_EXTENSIONS = ["png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "bmp", "ico"]

/** By the stored content type; for the generic ones (octet-stream, none), by the key's extension. */
export const previewKind = (contentType: string, key: string): PreviewKind => {
  const type = contentType.split(";")[0]!.trim().toLowerCase()
  if (IMAGE_TYPES.includes(type)) return "image"
  if (type === "application/pdf") return "pdf"
  if (type === "application/json" || type.endsWith("+json")) return "json"
  if (type.startsWith("text/") || type.endsWith("+xml") || TEXT_TYPES.includes(type)) return "text"
  if (type !== "" && type !== "application/octet-stream" && type !== "binary/octet-stream") return "none"
  const ext = key.includes(".") ? key.slice(key.lastIndexOf(".") + 1).toLowerCase() : ""
  return ext === "json" ? "json" : ext === "pdf" ? "pdf" : IMAGE_EXTENSIONS.includes(ext) ? "image" : TEXT_EXTENSIONS.includes(ext) ? "text" : "none"
}

/** The first TEXT_LIMIT bytes, as UTF-8 (an invalid sequence, such as a character cut at the limit, shows as �). */
export const readTextHead = async (bucket: string, key: string): Promise<string> => {
  const res = await call("GET", s3Path(bucket, key), { headers: { range: `bytes=0-${TEXT_LIMIT - 1}` } })
  return new TextDecoder("utf-8", { fatal: false }).decode(await res.arrayBuffer())
}

/** The whole image as a blob: URL; the caller revokes it. */
export const readImage = async (bucket: string, key: string): Promise<string> =>
  URL.createObjectURL(await (await call("GET", s3Path(bucket, key))).blob())

/** The whole object's bytes (the caller checked its size first). */
export const readBytes = async (bucket: string, key: string): Promise<Uint8Array> =>
  new Uint8Array(await (await call("GET", s3Path(bucket, key))).arrayBuffer())

/** JSON laid out for reading, or undefined when the text is not JSON (or was cut at the limit). */
export const prettyJson = (text: string): string | undefined => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return undefined
  }
}
