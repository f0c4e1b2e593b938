// A small demo host for the plugin examples (UCS's call-centre server in
// miniature): agents with statuses and reasons, shared data, and a users API
// whose methods (config.users.get/edit/delete) plugins may wrap with
// middleware. Status and shared-data changes go through exclusive change
// points, so one plugin may hook each, as in UCS.

import { ChangeBlockedError, createHost, type Host, type Logger } from '../../src/index.js';

export const AGENT_READY = 'ready';
export const AGENT_AUX = 'aux';
export const AGENT_OFFLINE = 'offline';
export type AgentStatus = typeof AGENT_READY | typeof AGENT_AUX | typeof AGENT_OFFLINE;

export interface Agent {
  readonly id: number;
  readonly displayname: string;
  readonly status: AgentStatus;
  /** Why the agent is not ready (AUX), e.g. "Oběd" (lunch). */
  readonly reason: string;
}

/** The value of the `agent-status` change point. */
export interface AgentStatusValue {
  readonly status: AgentStatus;
  readonly reason: string;
}

export interface User {
  readonly id: number;
  readonly username: string;
  readonly password?: string;
}

export interface UserEdit {
  readonly id: number;
  readonly username?: string;
  readonly password?: string;
}

/** Who calls the users API. */
export interface Caller {
  readonly username: string;
}

export interface DemoHookMap {
  events: {
    'agent.status': { agent_id: number; displayname: string; status: AgentStatus; reason: string; previous_status: AgentStatus };
  };
  changes: {
    'agent-status': AgentStatusValue;
    'shared:agent_emails': unknown;
  };
  methods: {
    'agents.list': () => Agent[];
    'users.list': () => User[];
    'config.users.get': (id: number) => User | undefined;
    'config.users.edit': (caller: Caller, data: UserEdit) => User;
    'config.users.delete': (caller: Caller, id: number) => boolean;
  };
}

export class DemoHost {
  readonly host: Host<DemoHookMap>;
  readonly #agents = new Map<number, Agent>();
  readonly #users = new Map<number, User>();
  readonly #shared = new Map<string, unknown>();

  constructor(options: { logger?: Logger } = {}) {
    this.host = createHost<DemoHookMap>({
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      events: [{ id: 'agent.status', name: 'agent-status', groups: ['agents'], message: 'Agent {{data.displayname}} is {{data.status}}' }],
      changes: { 'agent-status': { mode: 'exclusive' }, 'shared:agent_emails': { mode: 'exclusive' } },
    });
    for (const agent of [
      { id: 1, displayname: 'Jana Nováková', status: AGENT_OFFLINE, reason: '' },
      { id: 2, displayname: 'Petr Svoboda', status: AGENT_READY, reason: '' },
    ] as const) {
      this.#agents.set(agent.id, agent);
    }
    for (const user of [
      { id: 1, username: 'admin', password: 'correct horse battery' },
      { id: 2, username: 'jana' },
      { id: 3, username: 'petr' },
    ]) {
      this.#users.set(user.id, user);
    }
    const host = this.host;
    host.define('agents.list', () => [...this.#agents.values()]);
    host.define('users.list', () => [...this.#users.values()]);
    host.define('config.users.get', (id) => this.#users.get(id));
    host.define('config.users.edit', (_caller, data) => {
      const current = this.#users.get(data.id);
      if (current === undefined) throw new Error(`No user ${data.id}`);
      const next = { ...current, ...data };
      this.#users.set(data.id, next);
      return next;
    });
    host.define('config.users.delete', (_caller, id) => this.#users.delete(id));
  }

  agent(id: number): Agent | undefined {
    return this.#agents.get(id);
  }

  /** Switches an agent's status through the `agent-status` change point; a block throws ChangeBlockedError. */
  async setAgentStatus(id: number, status: AgentStatus, reason = ''): Promise<Agent> {
    const agent = this.#agents.get(id);
    if (agent === undefined) throw new Error(`No agent ${id}`);
    const outcome = await this.host.change('agent-status', { status: agent.status, reason: agent.reason }, { status, reason });
    if (outcome.blocked) throw new ChangeBlockedError(outcome.reason);
    const next: Agent = { ...agent, status: outcome.value.status, reason: outcome.value.reason };
    this.#agents.set(id, next);
    await this.host.emit('agent.status', {
      data: { agent_id: id, displayname: next.displayname, status: next.status, reason: next.reason, previous_status: agent.status },
    });
    return next;
  }

  shared(key: string): unknown {
    return this.#shared.get(key);
  }

  /** Sets shared data through its `shared:<key>` change point (declared exclusive on first use). */
  async setShared(key: string, value: unknown): Promise<unknown> {
    const point = `shared:${key}`;
    if (!this.host.changes.has(point)) this.host.declareChange(point, { mode: 'exclusive' });
    const outcome = await this.host.change(point as 'shared:agent_emails', this.#shared.get(key), value);
    if (outcome.blocked) throw new ChangeBlockedError(outcome.reason);
    this.#shared.set(key, outcome.value);
    return outcome.value;
  }

  close(): Promise<void> {
    return this.host.close();
  }
}
