/**
 * Plans for the renderer tests, written as plain data (the Plan interface is plain data), and a run state
 * with every task status.
 */
import type { Plan, PlanEdge, PlanNode } from "@troupe/core/Plan"
import type { RunState, TaskState } from "@troupe/core/RunState"
import type { Metrics } from "../src/Render.ts"

interface TaskSpec {
  readonly id: string
  readonly description: string
  readonly dependsOn?: ReadonlyArray<string>
  readonly after?: ReadonlyArray<string>
  readonly priority?: number
  readonly agentType?: string
  readonly capabilities?: ReadonlyArray<string>
}

/** A Plan from task specs: nodes in order, one edge per dependency (data first, then order). */
export const planOf = (
  meta: { readonly id: string; readonly name: string; readonly description: string },
  specs: ReadonlyArray<TaskSpec>
): Plan => {
  const nodes = specs.map((spec, index): PlanNode => ({
    id: spec.id,
    index,
    description: spec.description,
    taskType: spec.agentType === undefined ? "function" : "agent",
    dependsOn: spec.dependsOn ?? [],
    after: spec.after ?? [],
    priority: spec.priority ?? 5,
    parameters: {},
    metadata: {},
    tags: [],
    capabilities: spec.capabilities ?? [],
    skills: [],
    agentType: spec.agentType,
    runIfSkipped: false
  }))
  const edges = nodes.flatMap((node): Array<PlanEdge> => [
    ...node.dependsOn.map((from) => ({ from, to: node.id, kind: "data" as const })),
    ...node.after.map((from) => ({ from, to: node.id, kind: "order" as const }))
  ])
  return { ...meta, nodes, edges, strategy: "dag", continueOnFailure: true, metadata: {} }
}

export const E2E = "run_end_to_end_browser_tests_against_staging_environment_with_playwright"

/** The seeds' web-app example, with long descriptions and one very long id. */
export const webApp: Plan = planOf(
  {
    id: "web-app",
    name: "web-app",
    description: "Build, test and deploy a full-stack web application with a React frontend, a Node.js " +
      "backend, a PostgreSQL database, continuous integration and end-user documentation"
  },
  [
    {
      id: "setup_project",
      description: "Create the repository, the package layout, linting, formatting and the base configuration",
      priority: 10,
      agentType: "devops",
      capabilities: ["shell"]
    },
    {
      id: "design_database",
      description: "Design the PostgreSQL schema: users, sessions, projects, tasks and audit tables with indexes",
      dependsOn: ["setup_project"],
      priority: 8,
      agentType: "architect"
    },
    {
      id: "design_api",
      description: "Design the REST API: resources, routes, request and response schemas, errors and auth",
      dependsOn: ["setup_project"],
      priority: 8,
      agentType: "architect"
    },
    {
      id: "setup_ci",
      description: "Configure the CI pipeline: install, lint, type-check, test and build on every push",
      dependsOn: ["setup_project"],
      priority: 6,
      agentType: "devops"
    },
    {
      id: "implement_backend",
      description: "Implement the backend services, repositories and route handlers against the API design",
      dependsOn: ["design_database", "design_api"],
      priority: 7,
      agentType: "backend"
    },
    {
      id: "implement_frontend",
      description: "Implement the React pages, components, client-side state and API client",
      dependsOn: ["design_api"],
      priority: 7,
      agentType: "frontend"
    },
    {
      id: "write_tests",
      description: "Write unit, integration and API contract tests for the backend and the frontend",
      dependsOn: ["implement_backend", "implement_frontend"],
      agentType: "qa"
    },
    {
      id: "write_docs",
      description: "Write the user guide, the API reference and the operations runbook",
      dependsOn: ["implement_backend", "implement_frontend"],
      after: ["design_api"],
      priority: 3,
      agentType: "writer"
    },
    {
      id: "deploy",
      description: "Deploy the application to the staging environment and run smoke checks",
      dependsOn: ["write_tests"],
      after: ["setup_ci"],
      priority: 9,
      agentType: "devops"
    },
    {
      id: E2E,
      description: "Run the end-to-end browser test suite against staging and collect traces and screenshots",
      dependsOn: ["deploy"],
      after: ["write_docs", "setup_ci"],
      agentType: "qa"
    }
  ]
)

const task = (id: string, status: TaskState["status"], extra: Partial<TaskState> = {}): TaskState => ({
  id,
  status,
  attempts: status === "pending" || status === "skipped" ? 0 : 1,
  retries: 0,
  ...extra
})

/** A run in progress with every status: one failure, its descendants skipped, one task cancelled. */
export const webAppState: RunState = {
  runId: "run-1",
  workflow: "web-app",
  status: "running",
  startedAt: 1_000,
  tasks: [
    task("setup_project", "completed", { durationMs: 1_200 }),
    task("design_database", "completed", { durationMs: 3_450, attempts: 2, retries: 1 }),
    task("design_api", "completed", { durationMs: 2_800 }),
    task("setup_ci", "completed", { durationMs: 40 }),
    task("implement_backend", "failed", {
      durationMs: 95_000,
      attempts: 3,
      retries: 2,
      error: "TypeError: Cannot read properties of undefined (reading 'schema') in src/routes/projects.ts:42"
    }),
    task("implement_frontend", "running"),
    task("write_tests", "skipped", { reason: "dependency implement_backend failed" }),
    task("write_docs", "cancelled", { reason: "run cancelled" }),
    task("deploy", "skipped", { reason: "dependency write_tests skipped" }),
    task(E2E, "pending")
  ],
  progress: { total: 10, completed: 4, failed: 1, skipped: 2, cancelled: 1, running: 1, pending: 1, percent: 80 }
}

export const webAppMetrics: Metrics = {
  setup_project: { agent: "claude-code" },
  design_api: { agent: "architect-1" },
  implement_backend: { agent: "backend-2" },
  setup_ci: { cached: true }
}

/** Ids and descriptions that need escaping in every format. */
export const awkward: Plan = planOf(
  { id: "awkward", name: "awk \"ward\" {graph}", description: "ids that need escaping" },
  [
    { id: "end", description: "a Mermaid keyword" },
    { id: "build \"app\"", description: "quotes \"inside\" and a backslash \\ here", dependsOn: ["end"] },
    { id: "lint[strict]", description: "brackets [x] (y) {z} <b>bold</b> | pipe # hash & amp", dependsOn: ["end"] },
    { id: "a-b", description: "dash", dependsOn: ["build \"app\""] },
    { id: "a_b", description: "underscore, would collide with a-b", dependsOn: ["a-b"], after: ["lint[strict]"] },
    { id: "1st step", description: "starts with a digit\nand has a newline", after: ["a_b"] },
    { id: "graph", description: "another keyword", dependsOn: ["1st step"] }
  ]
)
