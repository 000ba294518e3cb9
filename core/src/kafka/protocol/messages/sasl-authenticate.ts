/**
 * SaslAuthenticate (key 36), v0-2, flexible from v2: one SASL token each
 * way (for PLAIN, the client's single `authzid NUL user NUL password`
 * message and an empty answer). v1+ tells the session's lifetime (0: no
 * re-authentication is required).
 */
import { bytes, field, int16, int64, message, nullable, string } from "../schema.ts"

export const SaslAuthenticateRequest = message({
  name: "SaslAuthenticateRequest",
  apiKey: 36,
  validVersions: "0-2",
  flexibleVersions: "2+",
  fields: {
    authBytes: field(bytes, "0+")
  }
})

export const SaslAuthenticateResponse = message({
  name: "SaslAuthenticateResponse",
  apiKey: 36,
  validVersions: "0-2",
  flexibleVersions: "2+",
  fields: {
    errorCode: field(int16, "0+"),
    errorMessage: nullable(string, "0+", "0+"),
    authBytes: field(bytes, "0+"),
    sessionLifetimeMs: field(int64, "1+", { default: 0n })
  }
})
