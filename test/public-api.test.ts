// The public API, recorded: the root entry (`hookwork`, src/index.ts) and
// each subpath (`hookwork/<name>`, src/entry/<name>.ts) export exactly the
// names listed here, values and types apart, so a change to the API is a
// deliberate edit of this file. The root also re-exports everything
// errors.ts exports (the error catalogue grows there, not here).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type * as TS from 'typescript';

const ROOT = resolve(import.meta.dirname, '..');
const ts = createRequire(import.meta.url)('typescript') as typeof TS;

interface Recorded {
  readonly values: readonly string[];
  readonly types: readonly string[];
}

/** `hookwork` without errors.ts's names; the subpaths in full. Sorted. */
const API: Readonly<Record<string, Recorded>> = {
  hookwork: {
    values: [
      'ENGINE_EVENTS',
      'Scope',
      'action',
      'allow',
      'block',
      'createGateway',
      'createHost',
      'createLogger',
      'createRuntime',
      'definePlugin',
      'deny',
      'eventToJSON',
      'handled',
      'loadConfig',
      'respond',
      'silentLogger',
    ],
    types: [
      'AccountInput',
      'ActionInput',
      'ActionOwner',
      'ActionResult',
      'ActionRunOptions',
      'ActionStatus',
      'ArgsOf',
      'CatalogueEntry',
      'ChangeBlock',
      'ChangeHookFn',
      'ChangeMode',
      'ChangeOutcome',
      'ChangePointOptions',
      'ChangeRequest',
      'ChangesOf',
      'ComponentInput',
      'ConfigSection',
      'ConfigSource',
      'ConfigurationDecision',
      'DataSchema',
      'DecisionEvents',
      'Delayed',
      'Disposer',
      'EmitInput',
      'EmitOptions',
      'EmitStage',
      'EventAccount',
      'EventCatalogue',
      'EventComponent',
      'EventData',
      'EventDefinition',
      'EventDefinitionConfig',
      'EventFor',
      'EventPeer',
      'EventServer',
      'EventTimestamp',
      'EventsOf',
      'ExtensionHandlerClass',
      'ExtensionHandlerInstance',
      'ExtensionParent',
      'ExtensionTask',
      'GateCallInfo',
      'GateDecision',
      'GateFn',
      'GatePointOptions',
      'GateRegistration',
      'GateResult',
      'GatesOf',
      'Gateway',
      'GatewayOptions',
      'GatewayRoute',
      'HandleResult',
      'HandlerConfig',
      'HookMap',
      'HookworkConfig',
      'HookworkConfigInput',
      'HookworkEvent',
      'Host',
      'HostOptions',
      'HostScope',
      'IdempotencyKeeper',
      'IdempotencyOptions',
      'IdempotentEmit',
      'LoadedConfig',
      'Logger',
      'MagpieWebhookConfig',
      'MethodFn',
      'MethodsOf',
      'MiddlewareFn',
      'Monitor',
      'MonitoringKind',
      'MonitoringListener',
      'MonitoringPoint',
      'MonitoringSink',
      'Next',
      'PluginClass',
      'PluginContext',
      'PluginDefinition',
      'PluginHooks',
      'PluginHostInfo',
      'PluginMeta',
      'PluginRequest',
      'PluginResponse',
      'PluginRouteHandler',
      'PluginRouteOptions',
      'PostInput',
      'PostResult',
      'PreparedReload',
      'RegistrationKind',
      'ReloadReport',
      'Reloadable',
      'ResultEvent',
      'Runtime',
      'RuntimeOptions',
      'RuntimeServices',
      'ScheduleOptions',
      'SendingListener',
      'SendingRecord',
      'SubscribeOptions',
      'SubscriptionTarget',
      'TaskFn',
      'TaskOptions',
      'WorkerEvent',
    ],
  },
  'hookwork/events': {
    values: [
      'ENGINE_EVENT_DEFINITIONS',
      'EVENT_CONTEXT_VARIABLES',
      'EventCatalogue',
      'MISSING',
      'PEER_ACCOUNT_UUID',
      'PROCESS_ACCOUNT_UUID',
      'SECRET_PATHS',
      'compileExpression',
      'compileFilters',
      'compileStringTemplate',
      'compileTemplate',
      'filtersShape',
      'lookup',
      'lookupIn',
      'renderTemplate',
      'unknownPlaceholders',
    ],
    types: [
      'CompileFiltersOptions',
      'DataFilter',
      'EventFilter',
      'FiltersConfig',
      'LookupOptions',
      'Template',
    ],
  },
  'hookwork/config': {
    values: [
      'DEFAULT_CONFIG_PATH',
      'configJsonSchema',
      'configSchema',
      'iniToConfig',
      'parseConfig',
      'registerConfigCheck',
      'templateProblems',
      'validateConfigSources',
    ],
    types: [
      'CommandHandlerConfig',
      'ConfigCheck',
      'ConfigCheckContext',
      'DeliveryConfig',
      'ExtensionHandlerConfig',
      'ExtensionHandlerConfigInput',
      'ExtensionsConfig',
      'PluginsConfig',
      'StoreConfig',
      'TemplateCheckOptions',
      'ValidateSourcesOptions',
      'WebhookFileEntry',
      'WebhookHandlerConfig',
    ],
  },
  'hookwork/plugins': {
    values: [
      'PluginManager',
      'PluginRoutes',
    ],
    types: [
      'PluginInfo',
      'PluginManagerOptions',
      'PluginState',
      'PluginsReconfiguration',
      'PluginsReconfigured',
    ],
  },
  'hookwork/extensions': {
    values: [
      'ExtensionHandler',
      'ExtensionPool',
    ],
    types: [
      'ExtensionHandlerCounters',
      'ExtensionHandlerError',
      'ExtensionHandlerInfo',
      'ExtensionHandlerOptions',
      'ExtensionHandlerState',
      'ExtensionPoolOptions',
      'ExtensionsService',
      'PoolStats',
    ],
  },
  'hookwork/commands': {
    values: [
      'CommandTarget',
      'SFTPGO_ENV_NAMES',
      'sftpgoArgs',
      'sftpgoEnv',
    ],
    types: [
      'CommandPreset',
      'CommandReport',
      'CommandTargetOptions',
      'EventRecord',
      'OutboundTarget',
      'OutputFormat',
      'RunResult',
      'TemplateExtras',
    ],
  },
  'hookwork/email': {
    values: [
      'EmailTarget',
      'addressProblem',
      'smtpTransport',
    ],
    types: [
      'EmailAttachmentOptions',
      'EmailTargetOptions',
      'MailAttachment',
      'MailMessage',
      'MailTransport',
      'SmtpTransportOptions',
    ],
  },
  'hookwork/webhooks': {
    values: [
      'Callbacks',
      'HTTP_METHODS',
      'HttpPools',
      'MemoryCallbackStore',
      'SsrfGuard',
      'WebhookSigner',
      'WebhookTarget',
      'decodeSecret',
      'decodeSecretKey',
      'generateSecret',
      'generateSigningKeyPair',
      'hashToken',
      'parseCidr',
      'parseRetryAfter',
      'publicKeyOf',
    ],
    types: [
      'BodyFormat',
      'CallbackRecord',
      'CallbackReport',
      'CallbackStore',
      'CallbacksOptions',
      'CheckedTarget',
      'EventRecord',
      'FormRequest',
      'HttpLane',
      'HttpMethod',
      'HttpPoolsOptions',
      'HttpTransport',
      'OutboundTarget',
      'Resolver',
      'RunResult',
      'SignatureHeaders',
      'SsrfGuardOptions',
      'StoredCallback',
      'TemplateExtras',
      'WebhookDeps',
      'WebhookTargetOptions',
    ],
  },
  'hookwork/delivery': {
    values: [
      'CLUSTER_TOPICS',
      'CircuitBreaker',
      'DeliveryService',
      'LocalClusterBus',
      'MemoryStore',
      'RetryPolicy',
      'openStore',
      'parseSince',
      'sqlitePath',
    ],
    types: [
      'AttemptContext',
      'AttemptRecord',
      'AttemptResult',
      'BreakerSettings',
      'ClusterBus',
      'ClusterControl',
      'ClusterListener',
      'ClusterMessage',
      'DeliveryControls',
      'DeliveryDetail',
      'DeliveryQueue',
      'DeliveryRecord',
      'DeliveryServiceOptions',
      'DeliveryState',
      'DeliveryStore',
      'DeliveryTarget',
      'ListFilter',
      'MemoryStoreOptions',
      'NewDelivery',
      'RateLimit',
      'ReplayOptions',
      'ReplayableState',
      'TargetDepth',
      'TargetDisabledCause',
      'TargetHealth',
      'TargetHealthStore',
      'TargetReport',
    ],
  },
};

/** The module a specifier names: `hookwork` is src/index.ts, `hookwork/x` is src/entry/x.ts. */
function entryFile(specifier: string): string {
  return specifier === 'hookwork' ? join(ROOT, 'src', 'index.ts') : join(ROOT, 'src', 'entry', `${specifier.slice('hookwork/'.length)}.ts`);
}

function parse(file: string): TS.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** Every name a module exports, read from its source (`export *` followed), and those exported as types only. */
function exportedNames(file: string): { all: Set<string>; typeOnly: Set<string> } {
  const all = new Set<string>();
  const typeOnly = new Set<string>();
  for (const statement of parse(file).statements) {
    if (ts.isExportDeclaration(statement)) {
      const from = statement.moduleSpecifier;
      if (statement.exportClause === undefined && from !== undefined && ts.isStringLiteral(from)) {
        const target = resolve(dirname(file), from.text.replace(/\.js$/, '.ts'));
        const inner = exportedNames(target);
        for (const name of inner.all) all.add(name);
        for (const name of inner.typeOnly) typeOnly.add(name);
      } else if (statement.exportClause !== undefined && ts.isNamedExports(statement.exportClause)) {
        for (const element of statement.exportClause.elements) {
          all.add(element.name.text);
          if (statement.isTypeOnly || element.isTypeOnly) typeOnly.add(element.name.text);
        }
      }
      continue;
    }
    const exported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) all.add(d.name.text);
    } else if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
      all.add(statement.name.text);
      typeOnly.add(statement.name.text);
    } else if ((ts.isClassDeclaration(statement) || ts.isFunctionDeclaration(statement) || ts.isEnumDeclaration(statement)) && statement.name) {
      all.add(statement.name.text);
    }
  }
  return { all, typeOnly };
}

/** What an entry exports: its values as loaded, its types (from the source) apart. */
async function actual(specifier: string, without: ReadonlySet<string> = new Set()): Promise<Recorded> {
  const file = entryFile(specifier);
  const loaded = Object.keys((await import(pathToFileURL(file).href)) as object);
  const { all, typeOnly } = exportedNames(file);
  for (const name of loaded) assert.ok(all.has(name) && !typeOnly.has(name), `${specifier}: ${name} is loaded and exported as a value in the source`);
  return {
    values: loaded.filter((n) => !without.has(n)).sort(),
    types: [...typeOnly].filter((n) => !without.has(n)).sort(),
  };
}

test('hookwork (the root entry) exports exactly its recorded names and everything errors.ts exports', async () => {
  const errors = exportedNames(join(ROOT, 'src', 'errors.ts'));
  assert.ok(errors.all.has('HookworkError') && errors.all.has('ConfigError'), 'errors.ts is read');
  const loaded = new Set(Object.keys((await import(pathToFileURL(entryFile('hookwork')).href)) as object));
  for (const name of errors.all) {
    if (!errors.typeOnly.has(name)) assert.ok(loaded.has(name), `hookwork exports ${name} from errors.ts`);
  }
  assert.deepEqual(await actual('hookwork', errors.all), API['hookwork']);
});

test('the internals the issue names are not exported by any entry', async () => {
  const internal = ['ClientPool', 'HttpPools', 'RequestForm', 'SenderThread', 'RouteModule', 'zodValidatorCompiler', 'registerConfigCheck', 'registerTemplateCheck', 'Installer', 'newWebhookId'];
  for (const specifier of Object.keys(API)) {
    const { all } = exportedNames(entryFile(specifier));
    for (const name of internal) {
      if (specifier === 'hookwork/webhooks' && name === 'HttpPools') continue; // the transport WebhookTarget takes
      if (specifier === 'hookwork/config' && name === 'registerConfigCheck') continue; // an embedder's own config checks (docs/config.md)
      assert.ok(!all.has(name), `${specifier} does not export ${name}`);
    }
    assert.ok(![...all].some((n) => /Installer$/.test(n)), `${specifier} exports no installer`);
  }
});

test('each entry module only re-exports', () => {
  for (const specifier of Object.keys(API)) {
    for (const statement of parse(entryFile(specifier)).statements) {
      assert.ok(ts.isExportDeclaration(statement) && statement.moduleSpecifier !== undefined, `${specifier}: ${statement.getText().slice(0, 60)} is a re-export`);
    }
  }
});

test('package.json exports map hookwork and every src/entry module to the build, with types', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; import: string }> };
  const entries = readdirSync(join(ROOT, 'src', 'entry')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
  assert.deepEqual(Object.keys(API).sort(), ['hookwork', ...entries.map((e) => `hookwork/${e}`)].sort(), 'every entry is recorded here');
  const expected: Record<string, { types: string; import: string }> = { '.': { types: './dist/index.d.ts', import: './dist/index.js' } };
  for (const e of entries) expected[`./${e}`] = { types: `./dist/entry/${e}.d.ts`, import: `./dist/entry/${e}.js` };
  assert.deepEqual(pkg.exports, expected);
});

for (const specifier of Object.keys(API).filter((s) => s !== 'hookwork')) {
  test(`${specifier} exports exactly its recorded names`, async () => {
    assert.deepEqual(await actual(specifier), API[specifier]);
  });
}
