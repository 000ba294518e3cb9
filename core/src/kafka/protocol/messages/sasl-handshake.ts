/**
 * SaslHandshake (key 17), v0-1, never flexible: the client names its SASL
 * mechanism; the broker answers with the mechanisms it enables. From v1
 * the SASL tokens that follow travel in SaslAuthenticate requests (v0 sent
 * them as raw frames, which Cairn does not serve).
 */
import { array, field, int16, message, string } from "../schema.ts"

export const SaslHandshakeRequest = message({
  name: "SaslHandshakeRequest",
  apiKey: 17,
  validVersions: "0-1",
  flexibleVersions: "none",
  fields: {
    mechanism: field(string, "0+")
  }
})

export const SaslHandshakeResponse = message({
  name: "SaslHandshakeResponse",
  apiKey: 17,
  validVersions: "0-1",
  flexibleVersions: "none",
  fields: {
    errorCode: field(int16, "0+"),
    mechanisms: field(array(string), "0+")
  }
})
