import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { RegisterAgentDto } from '../agents/dto/register-agent.dto.js';
import { RequestTempTokenDto } from '../auth/dto/request-temp-token.dto.js';
import { ValidateComplianceDto } from '../auth/dto/validate-compliance.dto.js';
import { schemaFromDto } from './dto-schema.util.js';

/** The request body DTO of each route that takes one (`METHOD path`). */
const BODIES: Record<string, new () => unknown> = {
  'post /auth/agent/request_temp_token': RequestTempTokenDto,
  'post /auth/agent/validate_compliance': ValidateComplianceDto,
  'post /agents/register': RegisterAgentDto,
};

/** Routes that need the server's token (and, when bound, a proof). */
const AUTHENTICATED = /^\/(auth\/agent\/(validate_compliance|validation\/)|agents\/)/;

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const PROBLEMS: Record<string, string> = {
  '400': 'Malformed body (bad JSON, nested deeper than 16 levels) or inconsistent input',
  '401': 'Missing, invalid or expired token; missing or invalid DPoP proof',
  '403': 'A token of the wrong kind, or another agent',
  '404': 'Unknown validation or agent',
  '413': 'Body over 64 KB',
  '415': 'Compressed body or a charset other than UTF-8',
  '422': 'The body breaks the route rules; `errors` names each field',
  '503': 'Storage unavailable or full',
};

/**
 * The sample app's OpenAPI 3 document: `@nestjs/swagger` finds the routes, the request schemas
 * come from the class-validator DTOs, every operation lists its problem responses
 * (`application/problem+json`), and the DPoP security schemes are declared.
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('ARCP sample app')
    .setDescription(
      'Agent registration in three phases, every token bound to a DPoP key (RFC 9449).',
    )
    .setVersion('0.1.0')
    .addSecurity('DPoPToken', {
      type: 'http',
      scheme: 'DPoP',
      description: '`Authorization: DPoP <token>` (or `Bearer` for an unbound token)',
    })
    .addSecurity('DPoPProof', {
      type: 'apiKey',
      in: 'header',
      name: 'DPoP',
      description: 'A DPoP proof JWT for this request (RFC 9449 §4)',
    })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components ??= {};
  document.components.schemas = {
    ...document.components.schemas,
    Problem: {
      type: 'object',
      required: ['type', 'title', 'status', 'detail'],
      properties: {
        type: { type: 'string', format: 'uri' },
        title: { type: 'string' },
        status: { type: 'integer' },
        detail: { type: 'string' },
        instance: { type: 'string' },
        code: { type: 'string', description: 'DPoP refusals: a stable code, e.g. ERR_DPOP_REPLAY' },
      },
    },
  };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item) as Array<
      [string, Record<string, unknown>]
    >) {
      const dto = BODIES[`${method} ${path}`];
      if (dto !== undefined) {
        document.components.schemas[dto.name] = schemaFromDto(dto);
        operation.requestBody = {
          required: true,
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${dto.name}` } } },
        };
      }
      if (AUTHENTICATED.test(path)) operation.security = [{ DPoPToken: [], DPoPProof: [] }];
      else if (!path.startsWith('/.well-known') && path !== '/health') {
        operation.security = [{}, { DPoPProof: [] }];
      }
      const responses = (operation.responses ??= {}) as Record<string, unknown>;
      for (const [status, description] of Object.entries(PROBLEMS)) {
        responses[status] ??= {
          description,
          content: { 'application/problem+json': { schema: PROBLEM_REF } },
        };
      }
    }
  }
  return document;
}

/** Serves the document at `/docs` (Swagger UI) and `/docs-json`. Call before `init()`. */
export function setupOpenApi(app: INestApplication): OpenAPIObject {
  const document = createOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
  return document;
}
