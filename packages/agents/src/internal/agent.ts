/**
 * Agent values: the prototype and the unchecked constructor shared by `Agent` and `AgentRegistry`.
 *
 * @internal
 */
import type { Effect } from "effect"
import { pipeArguments } from "effect/Pipeable"
import type { Agent, AgentRequest, AgentResponse } from "../Agent.ts"

/** @internal */
export const TypeId = "~@troupe/agents/Agent" as const

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  }
}

const validate = (name: string, priority: number, maxConcurrent: number): void => {
  if (name.length === 0) throw new RangeError("Agent name must not be empty")
  if (!Number.isInteger(priority) || priority < 1 || priority > 10) {
    throw new RangeError(`Agent "${name}": priority must be an integer from 1 to 10, got ${priority}`)
  }
  if (!(Number.isInteger(maxConcurrent) && maxConcurrent >= 1)) {
    throw new RangeError(`Agent "${name}": maxConcurrent must be a positive integer, got ${maxConcurrent}`)
  }
}

/** @internal */
export const build = <C extends string, E, R>(fields: {
  readonly name: string
  readonly description?: string | undefined
  readonly capabilities: ReadonlyArray<C>
  readonly priority: number
  readonly maxConcurrent: number
  readonly run: (request: AgentRequest) => Effect.Effect<AgentResponse, E, R>
}): Agent<C, E, R> => {
  validate(fields.name, fields.priority, fields.maxConcurrent)
  const self = Object.create(Proto)
  self.name = fields.name
  if (fields.description !== undefined) self.description = fields.description
  self.capabilities = Object.freeze([...new Set(fields.capabilities)])
  self.priority = fields.priority
  self.maxConcurrent = fields.maxConcurrent
  self.run = fields.run
  return Object.freeze(self)
}

