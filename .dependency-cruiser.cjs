// The layer order of src/ (docs/architecture.md draws it): a module may import
// from its own layer and the layers below, never from a layer above, and the
// feature folders of one layer never import each other. No cycles at all,
// type imports included (tsPreCompilationDeps). `npm test` runs this check.

/** Lowest first. Each entry: a name and the path pattern of its modules. */
const LAYERS = [
  ['base', '^src/(errors|logger|worker-threads|roles|module-loader|tracing|append)\\.ts$'],
  ['metrics', '^src/metrics/'],
  ['events', '^src/events/'],
  ['hooks', '^src/hooks/'],
  ['host', '^src/host\\.ts$'],
  ['cluster', '^src/cluster/'],
  ['delivery', '^src/delivery/'],
  ['handlers', '^src/handlers/'],
  ['http', '^src/http/'],
  ['features', '^src/(plugins|extensions|commands|webhooks|actions|schedules|email)/'],
  ['config', '^src/config/'],
  ['runtime', '^src/runtime/'],
  ['server', '^src/server/'],
  ['cli', '^src/cli/'],
  // the public entries: `hookwork` and its subpaths (src/entry/<name>.ts)
  ['index', '^src/(index\\.ts$|entry/)'],
];

const FEATURES = ['plugins', 'extensions', 'commands', 'webhooks', 'actions', 'schedules', 'email'];

const upward = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `layer-${name}`,
  comment: `${name} may import only from the layers below it (${LAYERS.slice(0, i).map(([n]) => n).join(', ') || 'none'})`,
  severity: 'error',
  from: { path },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => `(${p})`).join('|') },
}));

const sideways = FEATURES.map((feature) => ({
  name: `feature-${feature}`,
  comment: `${feature}/ must not import another feature folder of its layer (${FEATURES.filter((f) => f !== feature).join(', ')})`,
  severity: 'error',
  from: { path: `^src/${feature}/` },
  to: { path: `^src/(${FEATURES.filter((f) => f !== feature).join('|')})/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'no import cycles, type imports included',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-outside-src',
      comment: 'src/ imports nothing from test/, bench/ or examples/',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|examples|scripts)/' },
    },
    ...upward,
    ...sideways,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6', 'cjs'],
    exclude: { path: '^(node_modules|dist)/' },
  },
};
