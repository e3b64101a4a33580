/**
 * TaskException's message never throws, whatever the task threw (issue 9: values are described without
 * trusting their toString).
 */
import { describe, expect, it } from "@effect/vitest"
import { TaskException } from "../src/WorkflowError.ts"

describe("TaskException.message", () => {
  it("describes an Error by its message", () => {
    expect(new TaskException({ taskId: "t", cause: new Error("boom") }).message).toBe(`Task "t" threw: boom`)
  })

  it("does not throw for a value whose toString throws or that has no prototype", () => {
    const hostile = { toString: () => { throw new Error("no") } }
    expect(new TaskException({ taskId: "t", cause: hostile }).message).toBe(`Task "t" threw: [object Object]`)
    expect(new TaskException({ taskId: "t", cause: Object.create(null) }).message).toBe(
      `Task "t" threw: [object null prototype]`
    )
  })
})
