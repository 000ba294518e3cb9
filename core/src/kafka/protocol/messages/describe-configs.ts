/**
 * DescribeConfigs (key 32), v0-4, flexible from v4: configs of topics
 * (resource type 2) and brokers (4). A null key list asks for all.
 */
import { array, bool, field, int16, int32, int8, message, nullable, string, struct } from "../schema.ts"

const DescribeConfigsResource = struct("DescribeConfigsResource", {
  resourceType: field(int8, "0+"),
  resourceName: field(string, "0+"),
  configurationKeys: nullable(array(string), "0+", "0+")
})

export const DescribeConfigsRequest = message({
  name: "DescribeConfigsRequest",
  apiKey: 32,
  validVersions: "0-4",
  flexibleVersions: "4+",
  fields: {
    resources: field(array(DescribeConfigsResource), "0+"),
    includeSynonyms: field(bool, "1+"),
    includeDocumentation: field(bool, "3+")
  }
})

const DescribeConfigsSynonym = struct("DescribeConfigsSynonym", {
  name: field(string, "1+"),
  value: nullable(string, "1+", "0+"),
  source: field(int8, "1+")
})

const DescribeConfigsResourceResult = struct("DescribeConfigsResourceResult", {
  name: field(string, "0+"),
  value: nullable(string, "0+", "0+"),
  readOnly: field(bool, "0+"),
  isDefault: field(bool, "0"),
  configSource: field(int8, "1+", { ignorable: true, default: -1 }),
  isSensitive: field(bool, "0+"),
  synonyms: field(array(DescribeConfigsSynonym), "1+", { ignorable: true }),
  configType: field(int8, "3+", { ignorable: true }),
  documentation: nullable(string, "3+", "0+", { ignorable: true })
})

const DescribeConfigsResult = struct("DescribeConfigsResult", {
  errorCode: field(int16, "0+"),
  errorMessage: nullable(string, "0+", "0+"),
  resourceType: field(int8, "0+"),
  resourceName: field(string, "0+"),
  configs: field(array(DescribeConfigsResourceResult), "0+")
})

export const DescribeConfigsResponse = message({
  name: "DescribeConfigsResponse",
  apiKey: 32,
  validVersions: "0-4",
  flexibleVersions: "4+",
  fields: {
    throttleTimeMs: field(int32, "0+"),
    results: field(array(DescribeConfigsResult), "0+")
  }
})
