import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post } from '../api.js';
import { Empty, Loaded } from '../components/states.js';
import { json } from '../format.js';
import { useCan } from '../session.js';
import type { ConfigReply, ConfigSource, Problem } from '../types.js';
import { useResource } from '../use-resource.js';

function origin(source: ConfigSource): string {
  if (source.env !== null) return `environment ${source.env}`;
  if (source.file !== null) return `${source.file}${source.key === null ? '' : ` → ${source.key}`}`;
  return source.default ? 'default' : '—';
}

function Sources({ sources }: { sources: Record<string, ConfigSource> }) {
  const entries = Object.entries(sources);
  if (entries.length === 0) return <Empty>No provenance is known for this config.</Empty>;
  return (
    <table class="sources">
      <caption class="sr-only">Where each value came from</caption>
      <thead>
        <tr>
          <th scope="col">Key</th>
          <th scope="col">From</th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([key, source]) => (
          <tr key={key} class={source.default ? 'muted' : ''}>
            <th scope="row">
              <code>{key}</code>
            </th>
            <td>{origin(source)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Draft({ reply, reload }: { reply: ConfigReply; reload: () => void }) {
  const format = reply.format === 'json' ? 'json' : 'yaml';
  const [text, setText] = useState(reply.text ?? '');
  const [problems, setProblems] = useState<Problem[] | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  useEffect(() => setText(reply.text ?? ''), [reply.text]);

  const send = async (action: 'validate' | 'apply'): Promise<void> => {
    setBusy(true);
    setMessage(undefined);
    try {
      const result = await post<{ valid?: boolean; applied?: boolean; problems?: Problem[] }>(`/v1/config/${action}`, { text, format });
      setProblems(result.problems ?? []);
      if (action === 'apply') {
        setMessage('Applied: the config file was written and reloaded.');
        reload();
      } else {
        setMessage(result.valid === false ? 'The draft has problems.' : 'The draft is valid.');
      }
    } catch (err) {
      const body = err instanceof ApiError ? (err.body as { problems?: Problem[]; fields?: Problem[] } | undefined) : undefined;
      const found = body?.problems ?? body?.fields;
      setProblems(found);
      setMessage(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  if (reply.text === null) {
    return <Empty>The config did not come from one file, so it cannot be edited here.</Empty>;
  }
  return (
    <div class="draft">
      <label for="config-draft">Draft ({format}); a "[redacted]" value keeps the current secret.</label>
      <textarea id="config-draft" rows={18} spellcheck={false} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
      <div class="toolbar">
        <button type="button" class="secondary" disabled={busy} onClick={() => void send('validate')}>
          Validate
        </button>
        <button type="button" class="primary" disabled={busy} onClick={() => void send('apply')}>
          Apply
        </button>
        {message === undefined ? null : <span role="status">{message}</span>}
      </div>
      {problems === undefined || problems.length === 0 ? null : (
        <table class="problems">
          <caption>Problems</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Problem</th>
            </tr>
          </thead>
          <tbody>
            {problems.map((p, i) => (
              <tr key={i}>
                <th scope="row">
                  <code>{p.key}</code>
                </th>
                <td>{p.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function Config() {
  const config = useResource(() => get<ConfigReply>('/v1/config'), []);
  const superuser = useCan('superuser');
  return (
    <section aria-labelledby="config-title">
      <h1 id="config-title">Config</h1>
      <Loaded state={config} what="the config">
        {(reply) => (
          <>
            <div class="two">
              <div>
                <h2>Effective config</h2>
                <p class="muted small">Every secret is shown as [redacted].</p>
                <pre class="config" tabIndex={0}>{json(reply.config)}</pre>
              </div>
              <div>
                <h2>Where each value came from</h2>
                <Sources sources={reply.sources} />
              </div>
            </div>
            {superuser ? (
              <>
                <h2>Edit</h2>
                <Draft reply={reply} reload={config.reload} />
              </>
            ) : null}
          </>
        )}
      </Loaded>
    </section>
  );
}
