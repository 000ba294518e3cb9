/**
 * The page's place, kept in the URL's fragment so that reload, back and
 * links work without the server knowing any page: `#/buckets`,
 * `#/b/<bucket>?prefix=…&search=…&flat=1&deleted=1&settings=1`, `#/o/<bucket>?key=…` (one
 * object's details), `#/v/<bucket>?key=…`, `#/cluster`, `#/users`, `#/reports`,
 * `#/topics`, `#/t/<topic>`, `#/groups` and `#/g/<group>` (the streaming
 * log and its consumer groups).
 */
import { useEffect, useState } from "preact/hooks"

export type Route =
  | { readonly page: "buckets" }
  | {
    readonly page: "objects"
    readonly bucket: string
    /** The folder shown (ends in "/", or "" for the bucket's root). */
    readonly prefix: string
    /** Typed in the search box: only keys that start with prefix + search. */
    readonly search?: string
    /** Every key under the folder, without folders (no delimiter). */
    readonly flat?: boolean
    /** Also list the keys whose newest version is a delete marker. */
    readonly deleted?: boolean
    /** The bucket's settings (tags, CORS) shown open. */
    readonly settings?: boolean
  }
  | { readonly page: "object"; readonly bucket: string; readonly key: string }
  | { readonly page: "versions"; readonly bucket: string; readonly key: string }
  | { readonly page: "cluster" }
  | { readonly page: "users" }
  | { readonly page: "reports" }
  | { readonly page: "topics" }
  | { readonly page: "topic"; readonly topic: string }
  | { readonly page: "groups" }
  | { readonly page: "group"; readonly group: string }

export const parseRoute = (hash: string): Route => {
  const [path = "", query = ""] = hash.replace(/^#/, "").split("?")
  const q = new URLSearchParams(query)
  const parts = path.split("/").filter((p) => p !== "").map(decodeURIComponent)
  if (parts[0] === "b" && parts[1] !== undefined) {
    return { page: "objects", bucket: parts[1], prefix: q.get("prefix") ?? "", search: q.get("search") ?? "", flat: q.get("flat") === "1", deleted: q.get("deleted") === "1", settings: q.get("settings") === "1" }
  }
  if (parts[0] === "o" && parts[1] !== undefined) return { page: "object", bucket: parts[1], key: q.get("key") ?? "" }
  if (parts[0] === "v" && parts[1] !== undefined) return { page: "versions", bucket: parts[1], key: q.get("key") ?? "" }
  if (parts[0] === "cluster") return { page: "cluster" }
  if (parts[0] === "users") return { page: "users" }
  if (parts[0] === "reports") return { page: "reports" }
  if (parts[0] === "topics") return { page: "topics" }
  if (parts[0] === "t" && parts[1] !== undefined) return { page: "topic", topic: parts[1] }
  if (parts[0] === "groups") return { page: "groups" }
  if (parts[0] === "g" && parts[1] !== undefined) return { page: "group", group: parts[1] }
  return { page: "buckets" }
}

export const href = (route: Route): string => {
  switch (route.page) {
    case "buckets":
      return "#/buckets"
    case "objects": {
      const q = new URLSearchParams({ prefix: route.prefix })
      if ((route.search ?? "") !== "") q.set("search", route.search!)
      if (route.flat === true) q.set("flat", "1")
      if (route.deleted === true) q.set("deleted", "1")
      if (route.settings === true) q.set("settings", "1")
      return `#/b/${encodeURIComponent(route.bucket)}?${q}`
    }
    case "object":
      return `#/o/${encodeURIComponent(route.bucket)}?${new URLSearchParams({ key: route.key })}`
    case "versions":
      return `#/v/${encodeURIComponent(route.bucket)}?${new URLSearchParams({ key: route.key })}`
    case "cluster":
      return "#/cluster"
    case "users":
      return "#/users"
    case "reports":
      return "#/reports"
    case "topics":
      return "#/topics"
    case "topic":
      return `#/t/${encodeURIComponent(route.topic)}`
    case "groups":
      return "#/groups"
    case "group":
      return `#/g/${encodeURIComponent(route.group)}`
  }
}

export const useRoute = (): Route => {
  const [route, setRoute] = useState(() => parseRoute(location.hash))
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash))
    addEventListener("hashchange", changed)
    return () => removeEventListener("hashchange", changed)
  }, [])
  return route
}
