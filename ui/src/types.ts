// The shapes the gateway answers (docs/console.md and the contract in
// docs/gateway.md). Loose: a field the gateway adds later is ignored.

export interface StatsPoint {
  at: string;
  events: number;
  deliveries_done: number;
  deliveries_failed: number;
}

export interface StatsTarget {
  name: string;
  kind: string;
  pending: number;
  inflight: number;
  oldest_pending_age_ms: number | null;
  circuit: string;
  disabled: boolean;
}

export interface Stats {
  interval_ms: number;
  series: StatsPoint[];
  targets: StatsTarget[];
  parts: { name: string; healthy: boolean; ready: boolean; detail?: string }[];
}

export interface ErrorInfo {
  code?: string;
  message: string;
  stack?: string;
  at?: string;
}

export interface Plugin {
  name: string;
  version?: string;
  description?: string;
  file?: string;
  state: string;
  active: boolean;
  loadedAt?: string;
  registrations: Record<string, number>;
  lastError?: ErrorInfo;
}

export interface Handler {
  uuid: string;
  name: string;
  entryPoint: string;
  state: string;
  targets: string[];
  lastError?: ErrorInfo;
  consecutiveFailures: number;
  inFlight: number;
  queue_depth?: number;
  queueDepth?: number;
  counters: Record<string, number>;
}

export interface Attempt {
  attempt: number;
  started_at?: string | number;
  startedAt?: string | number;
  duration_ms?: number;
  durationMs?: number;
  ok?: boolean;
  http_status?: number | null;
  httpStatus?: number;
  exitCode?: number;
  exit_code?: number;
  request_headers?: Record<string, string | string[]> | null;
  request_body?: string | null;
  request_body_is_event?: boolean;
  response_headers?: Record<string, string | string[]> | null;
  response_body?: string | null;
  response?: string;
  error?: string | null;
}

export interface Target {
  name: string;
  kind: string;
  url?: string;
  pending: number;
  inflight: number;
  failed: number;
  circuit: string;
  disabled: boolean;
  disabled_reason?: string;
  last_attempts: (Attempt & { delivery_id?: string; deliveryId?: string })[];
}

export interface Delivery {
  id: string;
  target: string;
  event: Record<string, unknown>;
  state: 'pending' | 'inflight' | 'done' | 'failed';
  attempts: number;
  due_at?: string | number;
  dueAt?: string | number;
  created_at?: string | number;
  createdAt?: string | number;
  updated_at?: string | number;
  updatedAt?: string | number;
  last_error?: string;
  lastError?: string;
}

export interface ConfigSource {
  file: string | null;
  key: string | null;
  env: string | null;
  default: boolean;
}

export interface ConfigReply {
  config: Record<string, unknown>;
  sources: Record<string, ConfigSource>;
  text: string | null;
  format: 'yaml' | 'json' | 'ini' | null;
}

export interface Problem {
  key: string;
  message: string;
}
