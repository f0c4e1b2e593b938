// The HTTP methods a webhook may use. A leaf, so the config schema names
// them without loading the HTTP client.

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
