/**
 * ApiVersions (key 18), v0-4, flexible from v3: the first request every
 * client sends, answered with the API table. Its response header is always
 * v0 (`header.ts`), and a request in a version the broker lacks is answered
 * in v0 with UNSUPPORTED_VERSION and the table (`unsupported.ts`).
 */
import { array, bool, field, int16, int32, int64, message, string, struct } from "../schema.ts"

export const ApiVersionsRequest = message({
  name: "ApiVersionsRequest",
  apiKey: 18,
  validVersions: "0-4",
  flexibleVersions: "3+",
  fields: {
    clientSoftwareName: field(string, "3+", { ignorable: true }),
    clientSoftwareVersion: field(string, "3+", { ignorable: true })
  }
})

const ApiVersion = struct("ApiVersion", {
  apiKey: field(int16, "0+"),
  minVersion: field(int16, "0+"),
  maxVersion: field(int16, "0+")
})

const SupportedFeatureKey = struct("SupportedFeatureKey", {
  name: field(string, "3+"),
  minVersion: field(int16, "3+"),
  maxVersion: field(int16, "3+")
})

const FinalizedFeatureKey = struct("FinalizedFeatureKey", {
  name: field(string, "3+"),
  maxVersionLevel: field(int16, "3+"),
  minVersionLevel: field(int16, "3+")
})

export const ApiVersionsResponse = message({
  name: "ApiVersionsResponse",
  apiKey: 18,
  validVersions: "0-4",
  flexibleVersions: "3+",
  fields: {
    errorCode: field(int16, "0+"),
    apiKeys: field(array(ApiVersion), "0+"),
    throttleTimeMs: field(int32, "1+", { ignorable: true }),
    supportedFeatures: field(array(SupportedFeatureKey), "3+", { ignorable: true, tag: 0, taggedVersions: "3+" }),
    finalizedFeaturesEpoch: field(int64, "3+", { ignorable: true, tag: 1, taggedVersions: "3+", default: -1n }),
    finalizedFeatures: field(array(FinalizedFeatureKey), "3+", { ignorable: true, tag: 2, taggedVersions: "3+" }),
    zkMigrationReady: field(bool, "3+", { ignorable: true, tag: 3, taggedVersions: "3+" })
  }
})
