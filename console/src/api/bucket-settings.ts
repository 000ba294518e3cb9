/**
 * A bucket's settings kept beside its objects: its tags (Get/Put/DeleteBucketTagging;
 * S3 replaces the whole set at once) and its CORS rules (Get/Put/DeleteBucketCors).
 * A bucket with none answers NoSuchTagSet / NoSuchCORSConfiguration, read here as empty.
 */
import { ApiError, call } from "./client.ts"
import type { Tag } from "./object-info.ts"
import { escapeXml, s3Path } from "./s3.ts"

const NS = `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`
const xmlOf = async (res: Response): Promise<Document> => new DOMParser().parseFromString(await res.text(), "application/xml")
const texts = (el: Element, name: string): ReadonlyArray<string> => [...el.getElementsByTagName(name)].map((e) => e.textContent ?? "")

/** The answer, or `none` when S3 says the setting is absent (code `absent`). */
const readOr = async <A>(path: string, absent: string, none: A, read: (doc: Document) => A): Promise<A> => {
  try {
    return read(await xmlOf(await call("GET", path)))
  } catch (e) {
    if (e instanceof ApiError && e.code === absent) return none
    throw e
  }
}

export const getBucketTags = (bucket: string): Promise<ReadonlyArray<Tag>> =>
  readOr(`${s3Path(bucket)}?tagging`, "NoSuchTagSet", [], (doc) =>
    [...doc.getElementsByTagName("Tag")].map((t) => [texts(t, "Key")[0] ?? "", texts(t, "Value")[0] ?? ""] as const))

/** Replaces the bucket's whole tag set; an empty set removes them all. */
export const putBucketTags = async (bucket: string, tags: ReadonlyArray<Tag>): Promise<void> => {
  if (tags.length === 0) return void (await call("DELETE", `${s3Path(bucket)}?tagging`))
  const body = `<Tagging ${NS}><TagSet>${tags.map(([k, v]) => `<Tag><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></Tag>`).join("")}</TagSet></Tagging>`
  await call("PUT", `${s3Path(bucket)}?tagging`, { body, headers: { "content-type": "application/xml" } })
}

/** One CORS rule as S3 keeps it; `maxAgeSeconds` empty means none. */
export interface CorsRule {
  readonly allowedOrigins: ReadonlyArray<string>
  readonly allowedMethods: ReadonlyArray<string>
  readonly allowedHeaders: ReadonlyArray<string>
  readonly exposeHeaders: ReadonlyArray<string>
  readonly maxAgeSeconds: string
}

/** The methods S3 accepts in a CORS rule. */
export const CORS_METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD"] as const

export const getBucketCors = (bucket: string): Promise<ReadonlyArray<CorsRule>> =>
  readOr(`${s3Path(bucket)}?cors`, "NoSuchCORSConfiguration", [], (doc) =>
    [...doc.getElementsByTagName("CORSRule")].map((r) => ({
      allowedOrigins: texts(r, "AllowedOrigin"),
      allowedMethods: texts(r, "AllowedMethod"),
      allowedHeaders: texts(r, "AllowedHeader"),
      exposeHeaders: texts(r, "ExposeHeader"),
      maxAgeSeconds: texts(r, "MaxAgeSeconds")[0] ?? ""
    })))

const elements = (name: string, values: ReadonlyArray<string>) => values.map((v) => `<${name}>${escapeXml(v)}</${name}>`).join("")

/** The PutBucketCors body; S3 itself checks it (a rule needs an origin and a method, max age a whole number). */
export const corsXml = (rules: ReadonlyArray<CorsRule>): string =>
  `<CORSConfiguration ${NS}>${
    rules.map((r) =>
      `<CORSRule>${elements("AllowedHeader", r.allowedHeaders)}${elements("AllowedMethod", r.allowedMethods)}${elements("AllowedOrigin", r.allowedOrigins)}${
        elements("ExposeHeader", r.exposeHeaders)
      }${r.maxAgeSeconds.trim() === "" ? "" : elements("MaxAgeSeconds", [r.maxAgeSeconds.trim()])}</CORSRule>`
    ).join("")
  }</CORSConfiguration>`

const CORS_STEP = "Each rule needs at least one allowed origin and one method (GET, PUT, POST, DELETE or HEAD); the preflight's max age is a whole number of seconds."

/** Saves the rules; S3's refusal of them comes back with what a rule needs. */
export const putBucketCors = async (bucket: string, rules: ReadonlyArray<CorsRule>): Promise<void> => {
  try {
    await call("PUT", `${s3Path(bucket)}?cors`, { body: corsXml(rules), headers: { "content-type": "application/xml" } })
  } catch (e) {
    if (e instanceof ApiError && (e.code === "MalformedXML" || e.code === "InvalidRequest")) throw new ApiError(e.status, e.code, `${e.message} ${CORS_STEP}`)
    throw e
  }
}

export const deleteBucketCors = async (bucket: string): Promise<void> => void (await call("DELETE", `${s3Path(bucket)}?cors`))
