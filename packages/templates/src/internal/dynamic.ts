/**
 * @internal The templates add tasks that depend on their parameters (optional tasks, one task per source or
 * per review focus), so they build through an untyped view of the builder and state the resulting type
 * once, in each template's signature. (Core has no public dynamic builder form yet.)
 */
export interface Dynamic {
  readonly task: (id: string, a: unknown, b?: unknown) => Dynamic
  readonly dependsOn: (...ids: ReadonlyArray<string>) => Dynamic
}

export const dynamic = (workflow: unknown): Dynamic => workflow as Dynamic
