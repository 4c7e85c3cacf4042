import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { getMetadataStorage } from 'class-validator';
import { DEFAULT_AGENT_TYPES, loadAppConfig } from '../../src/config/app-config.js';
import { EnvironmentVariables, validateEnvironment } from '../../src/config/env.schema.js';

const KEYS = { AGENT_KEYS: 'a-valid-agent-key' };

describe('loadAppConfig', () => {
  it('runs on embedded defaults, generating a development agent key and a signing key', () => {
    const config = loadAppConfig({});
    expect(config.port).toBe(3000);
    // This machine only: /metrics, /docs and the logged development key stay off the network.
    expect(config.host).toBe('127.0.0.1');
    expect(config.devAgentKey).toMatch(/^arcp-dev-/);
    expect(config.agentKeys).toEqual([config.devAgentKey]);
    expect(config.allowedAgentTypes).toEqual(DEFAULT_AGENT_TYPES);
    expect(config.signing).toMatchObject({ alg: 'EdDSA', source: 'generated' });
    expect(config.redis).toBeUndefined();
    expect(config.dpop).toEqual({});
    expect(config.tokenTtl).toEqual({ temp: 900, validated: 300, access: 3600 });
    expect(config.endpointCheck.enabled).toBe(false);
  });

  it('reads every setting', () => {
    const config = loadAppConfig({
      ...KEYS,
      PORT: '8080',
      AGENT_KEYS: ' first-key-0001 , second-key-0002 ',
      ALLOWED_AGENT_TYPES: 'Security,qa',
      ARCP_PUBLIC_URL: 'https://arcp.example.com/api/',
      DPOP_REQUIRED: 'true',
      DPOP_ALGORITHMS: 'EdDSA',
      REDIS_URL: 'redis://127.0.0.1:6379/3',
      ARCP_ENDPOINT_CHECK: 'yes',
    });
    expect(config).toMatchObject({
      port: 8080,
      agentKeys: ['first-key-0001', 'second-key-0002'],
      devAgentKey: undefined,
      allowedAgentTypes: ['security', 'qa'],
      publicUrl: 'https://arcp.example.com/api',
      issuer: 'https://arcp.example.com/api',
      dpop: { required: true, algorithms: ['EdDSA'] },
      redis: { target: { kind: 'url', url: 'redis://127.0.0.1:6379/3' }, keyPrefix: 'arcp:' },
      endpointCheck: { enabled: true, timeoutMs: 3000 },
    });
  });

  it('loads a signing key from a file and infers its algorithm', () => {
    const dir = mkdtempSync(join(tmpdir(), 'arcp-key-'));
    const file = join(dir, 'key.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    expect(loadAppConfig({ ...KEYS, ARCP_SIGNING_KEY_FILE: file }).signing).toMatchObject({
      alg: 'ES256',
      source: 'file',
    });
    const mismatched = { ...KEYS, ARCP_SIGNING_KEY_FILE: file, ARCP_SIGNING_ALG: 'EdDSA' };
    expect(() => loadAppConfig(mismatched)).toThrow(
      'ARCP_SIGNING_ALG is EdDSA but the key in ARCP_SIGNING_KEY_FILE is for ES256',
    );
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ AGENT_KEYS: 'short' }, 'AGENT_KEYS'],
    [{ AGENT_KEYS: ' , ' }, 'AGENT_KEYS'],
    [{ ALLOWED_AGENT_TYPES: 'ok,no spaces' }, 'ALLOWED_AGENT_TYPES'],
    [{ ARCP_PUBLIC_URL: 'arcp.example.com' }, 'ARCP_PUBLIC_URL'],
    [{ ARCP_PUBLIC_URL: 'https://arcp.example.com/?x=1' }, 'ARCP_PUBLIC_URL'],
    [{ DPOP_ENABLED: 'maybe' }, 'DPOP_ENABLED'],
    [{ DPOP_PROOF_TTL: '-1' }, 'DPOP_PROOF_TTL'],
    [{ DPOP_ALGORITHMS: 'HS256' }, 'DPOP_ALGORITHMS'],
    [{ REDIS_URL: 'http://localhost' }, 'REDIS_URL'],
    [{ ARCP_REDIS_PREFIX: 'has space', REDIS_URL: 'redis://x' }, 'ARCP_REDIS_PREFIX'],
    [{ ARCP_SIGNING_ALG: 'HS256' }, 'ARCP_SIGNING_ALG'],
    [{ ARCP_SIGNING_KEY: 'not a pem' }, 'ARCP_SIGNING_KEY'],
    [{ ARCP_SIGNING_KEY_FILE: '/nonexistent/key.pem' }, 'ARCP_SIGNING_KEY_FILE'],
    [{ ARCP_ENDPOINT_CHECK: 'sometimes' }, 'ARCP_ENDPOINT_CHECK'],
    [{ ARCP_ENDPOINT_ALLOW: '10.0.0.0/99' }, 'ARCP_ENDPOINT_ALLOW'],
    [{ ARCP_TPR_TOKEN_TTL_ACCESS: '0' }, 'ARCP_TPR_TOKEN_TTL_ACCESS'],
    [{ NODE_ENV: 'production', AGENT_KEYS: '' }, 'AGENT_KEYS must be set when NODE_ENV=production'],
  ])('refuses %j, naming %s', (env, variable) => {
    expect(() => loadAppConfig({ ...KEYS, ...env })).toThrow(variable);
    // The same refusal through the class-validator schema that main.ts (ConfigModule) uses.
    expect(() => validateEnvironment({ ...KEYS, ...env })).toThrow(variable);
  });

  it('validateEnvironment gives the same AppConfig as loadAppConfig', () => {
    const env = { ...KEYS, PORT: '8080', DPOP_REQUIRED: 'TRUE', ARCP_ENDPOINT_CHECK: 'yes' };
    const { arcp } = validateEnvironment(env);
    expect(arcp).toMatchObject({ port: 8080, dpop: { required: true } });
    expect(arcp.endpointCheck.enabled).toBe(true);
  });
});

/** A random-looking 32-character nonce secret. */
const NONCE_SECRET = 'q3Z9-vK2xT7pLm4Rw8Ny1Bc6Hd0Jf5Gs';

describe('issue 15: settings that started without a word are refused, naming the variable', () => {
  it.each([
    [
      { DPOP_ENABLED: 'false', DPOP_REQUIRED: 'true' },
      /DPOP_ENABLED=false contradicts DPOP_REQUIRED=true/,
    ],
    [{ DPOP_NONCE_SECRET: NONCE_SECRET }, /DPOP_NONCE_SECRET is set but nonces are off/],
    [{ DPOP_NONCE_WINDOW: '30' }, /DPOP_NONCE_WINDOW is set but nonces are off/],
    [{ DPOP_NONCE_REQUIRED: 'route' }, /DPOP_NONCE_REQUIRED must be true, false or routes/],
    [
      { DPOP_NONCE_REQUIRED: 'false', DPOP_NONCE_SECRET: NONCE_SECRET },
      /DPOP_NONCE_SECRET is set but nonces are off/,
    ],
    [
      { DPOP_NONCE_REQUIRED: 'true', DPOP_NONCE_SECRET: ' '.repeat(40) },
      /DPOP_NONCE_SECRET is white space only/,
    ],
    [
      { DPOP_NONCE_REQUIRED: 'true', DPOP_NONCE_SECRET: 'x'.repeat(40) },
      /DPOP_NONCE_SECRET has only 1 different/,
    ],
    [
      { DPOP_PROOF_TTL: '86400' },
      /DPOP_PROOF_TTL must be a whole number of seconds from 1 to 3600/,
    ],
    [
      { DPOP_CLOCK_SKEW: '86400' },
      /DPOP_CLOCK_SKEW must be a whole number of seconds from 1 to 3600/,
    ],
    [{ NODE_ENV: 'Production', AGENT_KEYS: '' }, /AGENT_KEYS must be set when NODE_ENV=production/],
    [
      { NODE_ENV: 'prod', AGENT_KEYS: '' },
      /AGENT_KEYS must be set when NODE_ENV=production \(NODE_ENV is "prod"\)/,
    ],
    [{ NODE_ENV: ' PROD ', AGENT_KEYS: '' }, /AGENT_KEYS must be set/],
    [{ NODE_ENV: 'PRODUCTION', AGENT_KEYS: '' }, /AGENT_KEYS must be set/],
    [{ AGENT_KEYS: 'aaaaaaaaaaaa' }, /AGENT_KEYS: a key has only 1 different characters/],
    [
      { AGENT_KEYS: 'good-agent-key-01, ' + 'ab'.repeat(8) },
      /AGENT_KEYS: a key has only 2 different/,
    ],
    [
      { ARCP_ENDPOINT_ALLOW: '0.0.0.0/0' },
      /ARCP_ENDPOINT_ALLOW: "0\.0\.0\.0\/0" covers the cloud metadata address/,
    ],
    [
      { ARCP_ENDPOINT_ALLOW: '10.0.0.0/8, ::/0' },
      /ARCP_ENDPOINT_ALLOW: "::\/0" covers the cloud metadata address/,
    ],
    [
      { ARCP_ENDPOINT_ALLOW: '120.0.0.0/5' },
      /ARCP_ENDPOINT_ALLOW: "120\.0\.0\.0\/5" covers 127\.0\.0\.1/,
    ],
    [{ REDIS_URL: 'redis://' }, /REDIS_URL must name a host .* localhost:6379/],
    [{ REDIS_URL: 'rediss://' }, /REDIS_URL must name a host/],
    [{ REDIS_URL: 'redis:///2' }, /REDIS_URL must name a host/],
    [{ REDIS_URL: 'redis:localhost' }, /REDIS_URL/],
    [{ REDIS_URL: 'redis://:6379' }, /REDIS_URL/],
    [{ REDIS_URL: 'redis://user:secret@' }, /REDIS_URL/],
    [{ REDIS_URL: 'redis://cache.internal/abc' }, /REDIS_URL: the path must be a database number/],
  ])('refuses %j', (env, message) => {
    expect(() => loadAppConfig({ ...KEYS, ...env })).toThrow(message);
    expect(() => validateEnvironment({ ...KEYS, ...env })).toThrow(message);
  });

  it.each([
    [{ NODE_ENV: 'development' }],
    [{ NODE_ENV: 'production-like' }],
    [{ DPOP_ENABLED: 'false' }],
    [{ DPOP_NONCE_REQUIRED: 'true', DPOP_NONCE_SECRET: NONCE_SECRET, DPOP_NONCE_WINDOW: '30' }],
    [{ DPOP_NONCE_REQUIRED: 'routes', DPOP_NONCE_SECRET: NONCE_SECRET }],
    [{ DPOP_NONCE_REQUIRED: ' Routes ' }],
    [{ DPOP_PROOF_TTL: '3600', DPOP_CLOCK_SKEW: '300' }],
    [{ REDIS_URL: 'redis://127.0.0.1:6379/0' }],
    [{ REDIS_URL: 'rediss://user:pw@cache.internal:6380' }],
    [{ ARCP_ENDPOINT_ALLOW: '127.0.0.1,::1,10.0.0.0/8' }],
  ])('still accepts %j', (env) => {
    expect(() => validateEnvironment({ ...KEYS, ...env })).not.toThrow();
  });

  it('takes DPOP_NONCE_REQUIRED=routes as nonces on the routes that ask for them only', () => {
    const { arcp } = validateEnvironment({ ...KEYS, DPOP_NONCE_REQUIRED: 'routes' });
    expect(arcp.dpop.nonce).toEqual({ routesOnly: true });
  });
});

describe('HOST: the address the app listens on', () => {
  it.each([
    ['0.0.0.0', '0.0.0.0'],
    ['::', '::'],
    ['[::1]', '::1'],
    [' 192.168.1.20 ', '192.168.1.20'],
    ['arcp.internal', 'arcp.internal'],
    ['localhost', 'localhost'],
  ])('takes %j as %j', (raw, host) => {
    expect(loadAppConfig({ ...KEYS, HOST: raw }).host).toBe(host);
    expect(validateEnvironment({ ...KEYS, HOST: raw }).arcp.host).toBe(host);
  });

  it('takes an empty HOST as unset (127.0.0.1)', () => {
    expect(loadAppConfig({ ...KEYS, HOST: '  ' }).host).toBe('127.0.0.1');
  });

  it.each(['http://0.0.0.0', '127.0.0.1:3000', 'two words', 'a..b', '-bad.example', '[::1'])(
    'refuses %j, naming HOST',
    (raw) => {
      expect(() => loadAppConfig({ ...KEYS, HOST: raw })).toThrow(
        /^HOST must be an IP address or a host name/,
      );
    },
  );
});

describe('docs/sample-app.md lists every setting the schema reads, and no other', () => {
  /** The variables named in the first column of the Settings table (`A` / `_B`: A's prefix + B). */
  function documented(): string[] {
    const markdown = readFileSync(new URL('../../docs/sample-app.md', import.meta.url), 'utf8');
    const table = markdown.split('\n## Settings\n')[1]!.trimStart().split('\n\n')[0]!;
    const names: string[] = [];
    for (const row of table.split('\n').slice(2)) {
      const cell = row.split('|')[1] ?? '';
      let first: string | undefined;
      for (const [, name] of cell.matchAll(/`([A-Z_][A-Z0-9_]*)`/g)) {
        if (name!.startsWith('_') && first !== undefined) {
          names.push(first.slice(0, first.lastIndexOf('_')) + name);
        } else {
          names.push(name!);
          first ??= name;
        }
      }
    }
    return names.sort();
  }

  it('matches EnvironmentVariables', () => {
    // The properties class-validator checks: every variable the schema declares.
    const declared = getMetadataStorage()
      .getTargetValidationMetadatas(EnvironmentVariables, '', false, false)
      .map((rule) => rule.propertyName);
    expect(documented()).toEqual([...new Set(declared)].sort());
  });
});
