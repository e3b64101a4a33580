/** @internal Decoding and validation of data definitions. Implemented in the foundation issue. */
import type { Effect } from "effect"
import type { Plan } from "../Plan.ts"
import type { DefinitionError } from "../WorkflowError.ts"

export declare const decode: (input: unknown) => Effect.Effect<Plan, DefinitionError>
export declare const validate: (plan: Plan) => Effect.Effect<Plan, DefinitionError>
