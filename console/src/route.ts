/**
 * The page's place, kept in the URL's fragment so that reload, back and
 * links work without the server knowing any page: `#/buckets`,
 * `#/b/<bucket>?prefix=…`, `#/v/<bucket>?key=…`, `#/cluster`, `#/users`.
 */
import { useEffect, useState } from "preact/hooks"

export type Route =
  | { readonly page: "buckets" }
  | { readonly page: "objects"; readonly bucket: string; readonly prefix: string }
  | { readonly page: "versions"; readonly bucket: string; readonly key: string }
  | { readonly page: "cluster" }
  | { readonly page: "users" }

export const parseRoute = (hash: string): Route => {
  const [path = "", query = ""] = hash.replace(/^#/, "").split("?")
  const q = new URLSearchParams(query)
  const parts = path.split("/").filter((p) => p !== "").map(decodeURIComponent)
  if (parts[0] === "b" && parts[1] !== undefined) return { page: "objects", bucket: parts[1], prefix: q.get("prefix") ?? "" }
  if (parts[0] === "v" && parts[1] !== undefined) return { page: "versions", bucket: parts[1], key: q.get("key") ?? "" }
  if (parts[0] === "cluster") return { page: "cluster" }
  if (parts[0] === "users") return { page: "users" }
  return { page: "buckets" }
}

export const href = (route: Route): string => {
  switch (route.page) {
    case "buckets":
      return "#/buckets"
    case "objects":
      return `#/b/${encodeURIComponent(route.bucket)}?${new URLSearchParams({ prefix: route.prefix })}`
    case "versions":
      return `#/v/${encodeURIComponent(route.bucket)}?${new URLSearchParams({ key: route.key })}`
    case "cluster":
      return "#/cluster"
    case "users":
      return "#/users"
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
