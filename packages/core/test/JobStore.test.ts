import { JobStore } from "@troupe/core"
import { jobStoreContract } from "./JobStoreContract.ts"

jobStoreContract("memory", () => JobStore.layerMemory)
