// Client-side routes under /ui/ (the gateway answers index.html for any
// unknown path there, so a reload on /ui/deliveries/abc works).
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/ui';

function current(): string {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname;
  return path === '' ? '/' : path;
}

const listeners = new Set<() => void>();
addEventListener('popstate', () => listeners.forEach((fn) => fn()));

export function navigate(path: string): void {
  history.pushState(null, '', `${BASE}${path}`);
  listeners.forEach((fn) => fn());
}

/** The current route (path under /ui, e.g. "/deliveries/abc") and its query. */
export function useRoute(): { path: string; search: URLSearchParams } {
  const [route, setRoute] = useState(() => ({ path: current(), search: new URLSearchParams(location.search) }));
  useEffect(() => {
    const update = (): void => setRoute({ path: current(), search: new URLSearchParams(location.search) });
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return route;
}

/** A link that navigates without a page load (and keeps working as a normal link for middle clicks). */
export function linkHandler(path: string): (event: MouseEvent) => void {
  return (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(path);
  };
}
