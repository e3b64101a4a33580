import { RunStore } from "@troupe/core"
import { runStoreContract } from "./RunStoreContract.ts"

runStoreContract("memory", () => RunStore.layerMemory)
