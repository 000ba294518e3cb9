/**
 * How the project's own clients of the KV HTTP API (`cairn cluster`,
 * `cairn admin`, `cairn jepsen`, the benchmarks, the tests) send their
 * credentials: one HTTP Basic header with an access key and its secret,
 * which the server checks like any other credential (api-auth.ts). And how
 * they trust the CA of an https API address given with `--ca`.
 */
import { readFileSync } from "node:fs"
import { getCACertificates, setDefaultCACertificates } from "node:tls"

export interface ApiCredentials {
  readonly accessKey: string
  readonly secretKey: string
}

/** The `Authorization` header value for these credentials. */
export const apiAuthorization = (credentials: ApiCredentials): string =>
  `Basic ${Buffer.from(`${credentials.accessKey}:${credentials.secretKey}`).toString("base64")}`

/** `headers` plus the credentials' `Authorization`. */
export const apiHeaders = (credentials: ApiCredentials, headers: Readonly<Record<string, string>> = {}): Record<string, string> => ({
  ...headers,
  authorization: apiAuthorization(credentials)
})

/**
 * Adds the PEM certificate(s) in `path` to the CAs this process trusts
 * (`fetch` uses the default list), as NODE_EXTRA_CA_CERTS would at start.
 * Throws if the file cannot be read or holds no certificate.
 */
export const trustCaFile = (path: string): void => {
  const pem = readFileSync(path, "utf8")
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)
  if (certs === null) throw new Error(`${path} holds no PEM certificate`)
  setDefaultCACertificates([...getCACertificates("default"), ...certs])
}
