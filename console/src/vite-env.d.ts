/** vite's `?url` imports: the built asset's path on the console's own origin. */
declare module "*?url" {
  const url: string
  export default url
}
