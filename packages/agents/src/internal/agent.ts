/**
 * Agent values: the prototype and the unchecked constructor shared by `Agent` and `AgentRegistry`.
 *
 * @internal
 */
import type { Effect } from "effect"
import { pipeArguments } from "effect/Pipeable"

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

/**
 * Validates the fields and freezes an agent value; the caller states its type (`Agent.Agent<C, E, R>`).
 *
 * @internal
 */
export const build = <A>(fields: {
  readonly name: string
  readonly description?: string | undefined
  readonly capabilities: ReadonlyArray<string>
  readonly priority: number
  readonly maxConcurrent: number
  readonly run: (request: never) => Effect.Effect<unknown, unknown, unknown>
}): A => {
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
