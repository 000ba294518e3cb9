/**
 * Where the image's healthcheck finds this node's `/ready`: the KV HTTP
 * API address the server resolves from the same sources it can see (the
 * `CAIRN_CONFIG` file and `CAIRN_*` variables; flags on the server's command
 * line are not visible to a healthcheck, docs/deploy.md says so). A
 * wildcard listen address is probed on loopback.
 */
import { formatHostPort, rawFromConfigFile, rawFromEnv, resolveConfig, ServerConfigError } from "@cairn/runtime-node/server/config"

export interface ReadyTarget {
  readonly url: string
  /** The API serves HTTPS: the probe skips certificate checks (it talks to itself on loopback). */
  readonly tls: boolean
}

/** The URL of `/ready` for the configuration in `env` (and the file it names). */
export const readyTarget = (env: Record<string, string | undefined>): ReadyTarget | ServerConfigError => {
  const file = env.CAIRN_CONFIG === undefined ? {} : rawFromConfigFile(env.CAIRN_CONFIG)
  if (file instanceof ServerConfigError) return file
  const config = resolveConfig(file, rawFromEnv(env))
  if (config instanceof ServerConfigError) return config
  const { host, port } = config.apiListen
  const probeHost = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host
  const tls = config.apiTls !== undefined
  return { url: `${tls ? "https" : "http"}://${formatHostPort({ host: probeHost, port })}/ready`, tls }
}
