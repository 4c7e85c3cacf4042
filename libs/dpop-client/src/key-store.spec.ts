import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { DPoPProofVerifier, InMemoryJtiStore } from 'nest-dpop';
import { DPOP_CLIENT_ALGORITHMS, DPoPGenerator } from './dpop-generator.js';
import { keyFileFormat, loadPrivateKey, savePrivateKey } from './key-store.js';

const posix = process.platform !== 'win32';
const KEY_FILE = 'ERR_DPOP_CLIENT_KEY_FILE';
let dir: string;
let counter = 0;
const fresh = (name: string): string => join(dir, `${counter++}-${name}`);
const modeOf = (path: string): number => statSync(path).mode & 0o777;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dpop-client-keys-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.each(DPOP_CLIENT_ALGORITHMS)('%s key files', (alg) => {
  let generator: DPoPGenerator;
  beforeAll(async () => {
    generator = await DPoPGenerator.generate(alg);
  });

  it.each(['agent.jwk', 'agent.pem'])('round-trips through %s with mode 0600', async (name) => {
    const path = fresh(name);
    generator.save(path);
    if (posix) expect(modeOf(path)).toBe(0o600);

    // A JWK file names its alg; a PEM file does not, and gives the key's usual one unless told.
    const loaded = DPoPGenerator.fromFile(path, name.endsWith('.pem') ? { algorithm: alg } : {});
    expect(loaded.algorithm).toBe(alg);
    expect(loaded.jkt).toBe(generator.jkt);
    expect(loaded.publicJwk).toEqual(generator.publicJwk);

    const verifier = new DPoPProofVerifier(new InMemoryJtiStore(), { algorithms: [alg] });
    const url = 'https://arcp.example.com/agents/register';
    const proof = loaded.createProof({ method: 'POST', url, accessToken: 't0ken' });
    await expect(
      verifier.verify({
        proof,
        method: 'POST',
        url,
        accessToken: 't0ken',
        expectedJkt: generator.jkt,
      }),
    ).resolves.toMatchObject({ jkt: generator.jkt });
  });

  it('writes the format the name says: a private JWK with alg, or a PKCS#8 PEM', () => {
    const jwkPath = fresh('key.json');
    const pemPath = fresh('key.PEM');
    generator.save(jwkPath);
    generator.save(pemPath);
    const jwk = JSON.parse(readFileSync(jwkPath, 'utf8')) as Record<string, unknown>;
    expect(jwk).toMatchObject({ alg, d: expect.any(String) });
    expect(readFileSync(pemPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });
});

describe('savePrivateKey', () => {
  const key = generateKeyPairSync('ed25519').privateKey;

  it('refuses to overwrite unless asked, then replaces the file atomically with mode 0600', () => {
    const path = fresh('agent.jwk');
    savePrivateKey(key, path);
    expect(() => savePrivateKey(key, path)).toThrow(
      expect.objectContaining({ code: 'ERR_DPOP_CLIENT_KEY_FILE_EXISTS' }),
    );

    if (posix) chmodSync(path, 0o644);
    const other = generateKeyPairSync('ed25519').privateKey;
    savePrivateKey(other, path, { overwrite: true });
    if (posix) expect(modeOf(path)).toBe(0o600);
    expect(loadPrivateKey(path).export({ format: 'jwk' })).toEqual(other.export({ format: 'jwk' }));
    // No temporary file left behind.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('encrypts a PEM file with a passphrase, and needs it back to load', () => {
    const path = fresh('agent.pem');
    savePrivateKey(key, path, { passphrase: 'correct horse' });
    expect(readFileSync(path, 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(() => loadPrivateKey(path)).toThrow(expect.objectContaining({ code: KEY_FILE }));
    expect(() => loadPrivateKey(path, { passphrase: 'wrong' })).toThrow(/wrong passphrase/);
    const loaded = loadPrivateKey(path, { passphrase: 'correct horse' });
    expect(loaded.export({ format: 'jwk' })).toEqual(key.export({ format: 'jwk' }));
  });

  it('refuses a passphrase for a JWK file and a public key', () => {
    expect(() => savePrivateKey(key, fresh('a.jwk'), { passphrase: 'x' })).toThrow(
      expect.objectContaining({ code: 'ERR_DPOP_CLIENT_KEY_FILE' }),
    );
    const publicKey = generateKeyPairSync('ed25519').publicKey;
    expect(() => savePrivateKey(publicKey, fresh('a.jwk'))).toThrow(
      expect.objectContaining({ code: 'ERR_DPOP_CLIENT_INVALID_KEY' }),
    );
  });

  it('reports a directory that does not exist', () => {
    expect(() => savePrivateKey(key, join(dir, 'missing', 'agent.jwk'))).toThrow(
      expect.objectContaining({ code: 'ERR_DPOP_CLIENT_KEY_FILE' }),
    );
  });
});

describe('loadPrivateKey', () => {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

  const eachLooseMode = posix
    ? it.each(['0644', '0640', '0604', '0660', '0601', '0610'])
    : it.skip.each(['0']);
  eachLooseMode('refuses a key file with mode %s (group or others have access)', (mode) => {
    const path = fresh('agent.jwk');
    savePrivateKey(key, path);
    chmodSync(path, parseInt(mode, 8));
    expect(() => loadPrivateKey(path)).toThrow(
      expect.objectContaining({
        code: 'ERR_DPOP_CLIENT_KEY_FILE_PERMISSIONS',
        message: expect.stringContaining('chmod 600'),
      }),
    );
  });

  (posix ? it : it.skip)('only warns about a loose mode when told to, and accepts 0400', () => {
    const path = fresh('agent.pem');
    savePrivateKey(key, path);
    chmodSync(path, 0o644);
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      expect(loadPrivateKey(path, { insecurePermissions: 'warn' }).asymmetricKeyType).toBe('ec');
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('accessible by group or others'), {
        code: 'ERR_DPOP_CLIENT_KEY_FILE_PERMISSIONS',
      });
    } finally {
      warn.mockRestore();
    }
    chmodSync(path, 0o400);
    expect(loadPrivateKey(path).asymmetricKeyType).toBe('ec');
  });

  it.each([
    ['a public PEM', () => createPublicKey(key).export({ type: 'spki', format: 'pem' }), /public/],
    ['a public JWK', () => JSON.stringify(createPublicKey(key).export({ format: 'jwk' })), /"d"/],
    ['broken JSON', () => '{"kty": ', /not valid JSON/],
    ['something else', () => 'hello', /neither a PEM nor a JWK/],
    ['a broken PEM', () => '-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----', /usable/],
  ])('refuses %s with a clear message', (_name, content, message) => {
    const path = fresh('key');
    writeFileSync(path, content(), { mode: 0o600 });
    expect(() => loadPrivateKey(path)).toThrow(
      expect.objectContaining({ code: KEY_FILE, message: expect.stringMatching(message) }),
    );
  });

  it('refuses a missing file and a directory', () => {
    expect(() => loadPrivateKey(join(dir, 'nope.jwk'))).toThrow(
      expect.objectContaining({ code: KEY_FILE, message: expect.stringContaining('ENOENT') }),
    );
    const sub = fresh('sub');
    mkdirSync(sub, { mode: 0o700 });
    expect(() => loadPrivateKey(sub)).toThrow(expect.objectContaining({ code: KEY_FILE }));
  });

  it('reads SEC1 and PKCS#1 PEM files written by other tools', () => {
    const sec1 = fresh('sec1.pem');
    writeFileSync(sec1, key.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
    expect(DPoPGenerator.fromFile(sec1).algorithm).toBe('ES256');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const pkcs1 = fresh('pkcs1.pem');
    writeFileSync(pkcs1, rsa.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    expect(DPoPGenerator.fromFile(pkcs1).algorithm).toBe('RS256');
  });
});

describe('keyFileFormat', () => {
  it('is pem for *.pem and jwk otherwise', () => {
    expect(keyFileFormat('a/b/agent.pem')).toBe('pem');
    expect(keyFileFormat('AGENT.PEM')).toBe('pem');
    expect(keyFileFormat('agent.jwk')).toBe('jwk');
    expect(keyFileFormat('agent')).toBe('jwk');
  });
});
