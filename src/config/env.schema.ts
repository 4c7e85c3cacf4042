import { plainToInstance } from 'class-transformer';
import { IsIn, IsOptional, IsString, Matches, validateSync } from 'class-validator';
import { loadAppConfig, type AppConfig } from './app-config.js';
import type { Env } from './env.util.js';

const BOOLEAN = ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''];
const boolean = (name: string) =>
  IsIn(BOOLEAN, { message: `${name} must be true or false, got "$value"` });
const whole = (name: string) =>
  Matches(/^\s*[0-9]*\s*$/, { message: `${name} must be a whole number, got "$value"` });

/**
 * The app's environment, as a class-validator schema: the shape of every variable (booleans,
 * whole numbers, URLs). `validateEnvironment` checks it, then `loadAppConfig` checks ranges and
 * meanings (key files, algorithms, lists), each message naming its variable.
 */
export class EnvironmentVariables {
  @IsOptional() @whole('PORT') PORT?: string;
  @IsOptional() @IsString() HOST?: string;
  @IsOptional() @IsString() ARCP_PUBLIC_URL?: string;
  @IsOptional() @IsString() ARCP_ISSUER?: string;
  @IsOptional() @IsString() ARCP_CORS_ORIGINS?: string;
  @IsOptional() @IsString() AGENT_KEYS?: string;
  @IsOptional() @IsString() ALLOWED_AGENT_TYPES?: string;
  @IsOptional() @boolean('DPOP_ENABLED') DPOP_ENABLED?: string;
  @IsOptional() @boolean('DPOP_REQUIRED') DPOP_REQUIRED?: string;
  @IsOptional() @IsString() DPOP_PROOF_TTL?: string;
  @IsOptional() @IsString() DPOP_CLOCK_SKEW?: string;
  @IsOptional() @IsString() DPOP_ALGORITHMS?: string;
  // `routes`: nonces only where a route says `nonce: true` (here, the token endpoint).
  @IsOptional()
  @IsIn([...BOOLEAN, 'routes'], {
    message: 'DPOP_NONCE_REQUIRED must be true, false or routes, got "$value"',
  })
  DPOP_NONCE_REQUIRED?: string;
  @IsOptional() @IsString() DPOP_NONCE_SECRET?: string;
  @IsOptional() @IsString() DPOP_NONCE_WINDOW?: string;
  @IsOptional()
  @Matches(/^\s*(rediss?:\/\/\S*)?\s*$/, {
    message: 'REDIS_URL must be a redis:// or rediss:// URL',
  })
  REDIS_URL?: string;
  @IsOptional() @IsString() REDIS_HOST?: string;
  @IsOptional() @whole('REDIS_PORT') REDIS_PORT?: string;
  @IsOptional() @IsString() REDIS_PASSWORD?: string;
  @IsOptional() @IsString() REDIS_CLUSTER_NODES?: string;
  @IsOptional() @IsString() ARCP_REDIS_PREFIX?: string;
  @IsOptional() @IsString() ARCP_SIGNING_KEY_FILE?: string;
  @IsOptional() @IsString() ARCP_SIGNING_KEY?: string;
  @IsOptional() @IsString() ARCP_SIGNING_ALG?: string;
  @IsOptional() @whole('ARCP_TPR_TOKEN_TTL_TEMP') ARCP_TPR_TOKEN_TTL_TEMP?: string;
  @IsOptional() @whole('ARCP_TPR_TOKEN_TTL_VALIDATED') ARCP_TPR_TOKEN_TTL_VALIDATED?: string;
  @IsOptional() @whole('ARCP_TPR_TOKEN_TTL_ACCESS') ARCP_TPR_TOKEN_TTL_ACCESS?: string;
  @IsOptional() @whole('ARCP_TOKEN_LEEWAY') ARCP_TOKEN_LEEWAY?: string;
  @IsOptional() @boolean('ARCP_ENDPOINT_CHECK') ARCP_ENDPOINT_CHECK?: string;
  @IsOptional() @whole('ARCP_ENDPOINT_CHECK_TIMEOUT') ARCP_ENDPOINT_CHECK_TIMEOUT?: string;
  @IsOptional() @IsString() ARCP_ENDPOINT_ALLOW?: string;
  @IsOptional() @whole('AGENT_HEARTBEAT_TIMEOUT') AGENT_HEARTBEAT_TIMEOUT?: string;
  @IsOptional() @whole('ARCP_MEMORY_MAX_RECORDS') ARCP_MEMORY_MAX_RECORDS?: string;
  @IsOptional() @IsString() NODE_ENV?: string;
}

/**
 * The `validate` function of `ConfigModule.forRoot`: the environment checked against
 * {@link EnvironmentVariables}, then parsed into the {@link AppConfig}, available as
 * `configService.get('arcp')`.
 * @throws Error naming the first variable that is wrong
 */
export function validateEnvironment(raw: Env | Record<string, unknown>): { arcp: AppConfig } {
  // Booleans are compared lower-case, as loadAppConfig reads them.
  const lowered = Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [
      k,
      typeof v === 'string' && BOOLEAN_VARS.has(k) ? v.trim().toLowerCase() : v,
    ]),
  );
  const env = plainToInstance(EnvironmentVariables, lowered);
  const errors = validateSync(env, { skipMissingProperties: false });
  const first = errors[0];
  if (first !== undefined) {
    throw new Error(Object.values(first.constraints ?? {})[0] ?? `${first.property} is invalid`);
  }
  return { arcp: loadAppConfig(raw as Env) };
}

const BOOLEAN_VARS = new Set([
  'DPOP_ENABLED',
  'DPOP_REQUIRED',
  'DPOP_NONCE_REQUIRED',
  'ARCP_ENDPOINT_CHECK',
]);
