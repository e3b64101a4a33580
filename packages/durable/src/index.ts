/**
 * @troupe/durable: durable Troupe runs on Effect's workflow and cluster engine, embedded SQLite through
 * Node's built-in `node:sqlite`.
 *
 * @since 0.1.0
 */
export * as Migrations from "./Migrations.ts"
export * as SqliteClient from "./SqliteClient.ts"
export * as SqlRunStore from "./SqlRunStore.ts"
export * as Durable from "./Durable.ts"
export * as SchedulesSql from "./SchedulesSql.ts"
export * as SignalsSql from "./SignalsSql.ts"
export * as SqlJobStore from "./SqlJobStore.ts"
