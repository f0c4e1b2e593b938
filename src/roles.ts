// The roles a gateway token may have, lowest first: a viewer reads, an
// operator also acts on deliveries and handlers, a superuser also manages
// plugins and the config. A leaf: the config schema, the gateway's auth and
// plugin routes all name them.

export const ROLES = ['viewer', 'operator', 'superuser'] as const;
export type Role = (typeof ROLES)[number];
