/** DescribeCluster (key 60), v0-1, flexible in every version: the brokers, controller and cluster id. */
import { array, bool, field, int16, int32, int8, message, nullable, string, struct } from "../schema.ts"

export const DescribeClusterRequest = message({
  name: "DescribeClusterRequest",
  apiKey: 60,
  validVersions: "0-1",
  flexibleVersions: "0+",
  fields: {
    includeClusterAuthorizedOperations: field(bool, "0+"),
    endpointType: field(int8, "1+", { default: 1 })
  }
})

const DescribeClusterBroker = struct("DescribeClusterBroker", {
  brokerId: field(int32, "0+"),
  host: field(string, "0+"),
  port: field(int32, "0+"),
  rack: nullable(string, "0+", "0+", { default: null })
})

export const DescribeClusterResponse = message({
  name: "DescribeClusterResponse",
  apiKey: 60,
  validVersions: "0-1",
  flexibleVersions: "0+",
  fields: {
    throttleTimeMs: field(int32, "0+"),
    errorCode: field(int16, "0+"),
    errorMessage: nullable(string, "0+", "0+", { default: null }),
    endpointType: field(int8, "1+", { default: 1 }),
    clusterId: field(string, "0+"),
    controllerId: field(int32, "0+", { default: -1 }),
    brokers: field(array(DescribeClusterBroker), "0+"),
    clusterAuthorizedOperations: field(int32, "0+", { default: -2147483648 })
  }
})
