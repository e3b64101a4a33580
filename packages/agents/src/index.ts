/**
 * @troupe/agents: agents, capability routing, skills (SKILL.md), LLM agents and multi-agent patterns.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Agent from "./internal/agentNamespace.ts"

/**
 * @since 0.1.0
 */
export * as AgentRegistry from "./AgentRegistry.ts"

/**
 * @since 0.1.0
 */
export * as Capability from "./Capability.ts"

/**
 * @since 0.1.0
 */
export * as Skill from "./Skill.ts"

/**
 * @since 0.1.0
 */
export * as Skills from "./Skills.ts"

/**
 * @since 0.1.0
 */
export * as LlmAgent from "./LlmAgent.ts"

/**
 * @since 0.1.0
 */
export * as OpenAiCompatible from "./OpenAiCompatible.ts"

/**
 * @since 0.1.0
 */
export * as AgentTask from "./AgentTask.ts"

/**
 * @since 0.1.0
 */
export * as Patterns from "./Patterns.ts"

/**
 * @since 0.1.0
 */
export * as Tools from "./Tools.ts"

/**
 * @since 0.1.0
 */
export * as Budget from "./Budget.ts"

/**
 * @since 0.1.0
 */
export * as Toolsets from "./Toolsets.ts"

/**
 * @since 0.1.0
 */
export * as Mcp from "./Mcp.ts"

/**
 * @since 0.1.0
 */
export * as McpServe from "./McpServe.ts"
