/**
 * FindCoordinator (key 10), v0-6, flexible from v3: which node coordinates
 * a group (key type 0) or a transactional id (1). v4+ batches keys.
 */
import { array, field, int16, int32, int8, message, nullable, string, struct } from "../schema.ts"

export const FindCoordinatorRequest = message({
  name: "FindCoordinatorRequest",
  apiKey: 10,
  validVersions: "0-6",
  flexibleVersions: "3+",
  fields: {
    key: field(string, "0-3"),
    keyType: field(int8, "1+"),
    coordinatorKeys: field(array(string), "4+")
  }
})

const Coordinator = struct("Coordinator", {
  key: field(string, "4+"),
  nodeId: field(int32, "4+"),
  host: field(string, "4+"),
  port: field(int32, "4+"),
  errorCode: field(int16, "4+"),
  errorMessage: nullable(string, "4+", "4+", { ignorable: true })
})

export const FindCoordinatorResponse = message({
  name: "FindCoordinatorResponse",
  apiKey: 10,
  validVersions: "0-6",
  flexibleVersions: "3+",
  fields: {
    throttleTimeMs: field(int32, "1+", { ignorable: true }),
    errorCode: field(int16, "0-3"),
    errorMessage: nullable(string, "1-3", "1-3", { ignorable: true }),
    nodeId: field(int32, "0-3"),
    host: field(string, "0-3"),
    port: field(int32, "0-3"),
    coordinators: field(array(Coordinator), "4+")
  }
})
