import { z } from 'zod';

// The answers outside the collection, as the routes send them (errors.ts, auth/tokenRoutes.ts, health.ts).

export const errorSchema = z
  .strictObject({
    status: z.int().min(400).max(599).meta({ description: 'The HTTP status, repeated' }),
    error: z.string().meta({ description: "The status's reason phrase" }),
    message: z.string().meta({ description: 'What went wrong, naming the parameter or field' }),
  })
  .meta({ id: 'Error', description: 'Every error answer, whoever sends it' });

export const tokenSchema = z
  .strictObject({
    token: z.string().meta({ description: 'A JWT: send it as `Authorization: Bearer <token>`' }),
    expires_in: z.int().min(1).meta({ description: 'Seconds until it expires (TOKEN_TTL)' }),
  })
  .meta({ id: 'Token' });

export const healthSchema = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Health' });

const upDown = z.enum(['up', 'down']);
export const readySchema = z
  .strictObject({
    status: z.enum(['ready', 'unavailable']),
    database: upDown,
    redis: upDown.optional().meta({ description: 'Only with REDIS_URL; never makes the API unready' }),
  })
  .meta({ id: 'Readiness' });

export const openApiDocumentSchema = z
  .looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) })
  .meta({ id: 'OpenApiDocument', description: 'This document' });
