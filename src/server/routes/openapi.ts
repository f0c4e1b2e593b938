// GET /v1/openapi.json: the gateway's contract (OpenAPI 3.1), generated from
// the routes served (server/openapi.ts). Open, like /v1/health: it describes
// the API every copy of Hookwork has, nothing of this deployment (no tokens,
// no config, no plugin names: plugin routes are one catch-all).

import { z } from 'zod';
import type { RouteModule } from '../route-module.js';
import { openApiDocument } from '../openapi.js';

export const openApiRoutes: RouteModule = (app) => {
  app.get(
    '/v1/openapi.json',
    {
      schema: {
        summary: 'This document: the gateway’s contract (OpenAPI 3.1)',
        tags: ['meta'],
        response: { 200: z.looseObject({ openapi: z.literal('3.1.0') }).describe('The OpenAPI document') },
      },
    },
    async () => openApiDocument(app),
  );
};
