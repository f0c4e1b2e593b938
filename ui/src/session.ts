// The signed-in principal, shared by every page (controls are shown by role;
// the server enforces the same rules whatever the page shows).
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Role, Session } from './api.js';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, superuser: 3 };

export const SessionContext = createContext<Session | undefined>(undefined);

/** True when the signed-in role is at least `role`. */
export function useCan(role: Role): boolean {
  const session = useContext(SessionContext);
  return session !== undefined && RANK[session.principal.role] >= RANK[role];
}
