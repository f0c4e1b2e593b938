// `hookwork/commands`: running a command target yourself and the SFTPGo
// preset's arguments and environment (docs/commands.md). Re-exports only.

export { CommandTarget } from '../commands/runner.js';
export type { CommandPreset, CommandReport, CommandTargetOptions, OutputFormat } from '../commands/runner.js';
export { SFTPGO_ENV_NAMES, sftpgoArgs, sftpgoEnv } from '../commands/sftpgo-preset.js';
export type { EventRecord, OutboundTarget, RunResult, TemplateExtras } from '../handlers/target.js';
