/** The erasure-coded object layer's pure parts: placement, scheme, layout, metadata. See docs/objects.md. */
export * from "./placement.ts"
export * from "./scheme.ts"
export * from "./layout.ts"
export * from "./metadata.ts"
