import type { INestApplication } from '@nestjs/common';
import { answerClientErrorsWithProblems, answerMultipleHostsWithProblem } from 'nest-dpop';
import { dpopCors } from 'nest-dpop/cors';
import { APP_CONFIG, type AppConfig } from './config/app-config.js';
import { PROBLEM_TYPE_BASE } from './common/problem.exception.js';
import { installBodyLimits } from './common/body-limits.js';
import { setupOpenApi } from './openapi/openapi.setup.js';

/** The Express settings the app changes. */
interface ExpressSettings {
  disable(setting: string): void;
  set(setting: string, value: unknown): void;
}

/**
 * The HTTP-level setup shared by `main.ts` and the end-to-end tests, so both run the same app.
 * (The exception filter, validation pipe and DPoP guard are providers of `AppModule`.)
 */
export function configureApp(app: INestApplication): INestApplication {
  const express = app.getHttpAdapter().getInstance() as ExpressSettings;
  express.disable('x-powered-by');
  // Never derive the client's address or scheme from X-Forwarded-*: set ARCP_PUBLIC_URL instead.
  express.set('trust proxy', false);
  // Requests Node refuses before Nest runs (e.g. a 100 KB DPoP header) still get a problem+json.
  answerClientErrorsWithProblems(app.getHttpServer(), { problemTypeBase: PROBLEM_TYPE_BASE });
  // Two Host headers: 400 on every route (RFC 9112 §3.2), before routing.
  answerMultipleHostsWithProblem(app.getHttpServer(), { problemTypeBase: PROBLEM_TYPE_BASE });
  // Size and depth bounded before anything parses or walks a body (see BODY_LIMITS).
  installBodyLimits(app);
  // Browser apps on ARCP_CORS_ORIGINS may send DPoP and Authorization, and read DPoP-Nonce and
  // WWW-Authenticate (without which they cannot answer use_dpop_nonce).
  const config = app.get<AppConfig>(APP_CONFIG, { strict: false });
  if (config.corsOrigins === '*' || config.corsOrigins.length > 0) {
    app.enableCors(dpopCors(config.corsOrigins));
  }
  // The OpenAPI document at /docs (UI) and /docs-json.
  setupOpenApi(app);
  return app;
}
