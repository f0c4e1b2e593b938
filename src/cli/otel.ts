// `hookwork serve` exports traces over OTLP/HTTP when the standard OTEL_*
// variables ask for it, and loads nothing otherwise: the SDK and the exporter
// are imported only then (the library itself uses @opentelemetry/api alone,
// a no-op until a provider is registered).

/** Whether the environment asks for trace export (OpenTelemetry's standard variables). */
export function tracesRequested(env: NodeJS.ProcessEnv): boolean {
  if ((env['OTEL_SDK_DISABLED'] ?? '').toLowerCase() === 'true') return false;
  const exporters = (env['OTEL_TRACES_EXPORTER'] ?? '').split(',').map((e) => e.trim().toLowerCase());
  if (exporters.includes('none')) return false;
  if (exporters.includes('otlp')) return true;
  return (env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? '') !== '' || (env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? '') !== '';
}

/**
 * Registers a tracer provider that batches spans to the OTLP/HTTP endpoint of
 * the environment (the exporter reads OTEL_EXPORTER_OTLP_* itself). Returns
 * the shutdown that flushes what is pending, or undefined when not asked for.
 */
export async function startTraceExport(env: NodeJS.ProcessEnv = process.env): Promise<(() => Promise<void>) | undefined> {
  if (!tracesRequested(env)) return undefined;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { ATTR_SERVICE_NAME }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/semantic-conventions'),
    ]);
  const provider = new NodeTracerProvider({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES still win: the SDK merges them over this.
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: env['OTEL_SERVICE_NAME'] ?? 'hookwork'}),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // The async-hooks context manager (a span follows its awaits) and the W3C propagator.
  provider.register();
  return () => provider.shutdown();
}
