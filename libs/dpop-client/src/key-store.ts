import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { DPoPClientError } from './client.errors.js';

/** How a key file is encoded. */
export type KeyFileFormat = 'jwk' | 'pem';

/** Options of {@link savePrivateKey}. */
export interface SaveKeyOptions {
  /** Default: `pem` when the file name ends in `.pem`, else `jwk`. */
  format?: KeyFileFormat;
  /**
   * Replace an existing file (atomically, by rename). Default `false`: an existing file is an
   * error.
   */
  overwrite?: boolean;
  /** Encrypt a PEM file (PKCS#8, AES-256-CBC) with this passphrase. Not available for JWK files. */
  passphrase?: string;
  /** Written as the JWK's `alg` member, so that other tools know what the key is for. */
  alg?: string;
}

/** Options of {@link loadPrivateKey}. */
export interface LoadKeyOptions {
  /** The passphrase of an encrypted PEM file. */
  passphrase?: string;
  /**
   * What to do with a key file that group or others may access (any of mode 0077 set):
   * `refuse` (default) throws `ERR_DPOP_CLIENT_KEY_FILE_PERMISSIONS`, as `ssh` does; `warn` emits a
   * process warning and loads it. Not checked on Windows, where modes mean little.
   */
  insecurePermissions?: 'refuse' | 'warn';
}

/** Owner read and write only. */
const OWNER_ONLY = 0o600;
/** Any permission bit for group or others. */
const GROUP_OR_OTHER = 0o077;

/** The format a file name implies: `pem` for `*.pem`, else `jwk`. */
export function keyFileFormat(path: string): KeyFileFormat {
  return /\.pem$/i.test(path) ? 'pem' : 'jwk';
}

function fileError(message: string, cause?: unknown): DPoPClientError {
  return new DPoPClientError('ERR_DPOP_CLIENT_KEY_FILE', message, { cause });
}

function reason(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Writes a private key to a file that only its owner can read (mode 0600 from the moment it is
 * created, so there is no window in which it is readable by others).
 *
 * @throws {DPoPClientError} `ERR_DPOP_CLIENT_KEY_FILE_EXISTS` when the file exists and
 *   `overwrite` is not set; `ERR_DPOP_CLIENT_INVALID_KEY` for a public key;
 *   `ERR_DPOP_CLIENT_KEY_FILE` when it cannot be written
 */
export function savePrivateKey(key: KeyObject, path: string, options: SaveKeyOptions = {}): void {
  if (key.type !== 'private') {
    throw new DPoPClientError(
      'ERR_DPOP_CLIENT_INVALID_KEY',
      `only private keys are saved, got a ${key.type} key`,
    );
  }
  const format = options.format ?? keyFileFormat(path);
  let data: string;
  if (format === 'pem') {
    data = key.export(
      options.passphrase === undefined
        ? { type: 'pkcs8', format: 'pem' }
        : { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: options.passphrase },
    ) as string;
  } else {
    if (options.passphrase !== undefined) {
      throw fileError(
        'only a PEM key file can have a passphrase (use a .pem name or format: "pem")',
      );
    }
    const jwk = key.export({ format: 'jwk' });
    const members = options.alg === undefined ? jwk : { ...jwk, alg: options.alg };
    data = JSON.stringify(members, null, 2) + '\n';
  }

  if (!options.overwrite) {
    try {
      // 'wx': fail rather than follow or replace anything already there.
      writeFileSync(path, data, { mode: OWNER_ONLY, flag: 'wx' });
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new DPoPClientError(
          'ERR_DPOP_CLIENT_KEY_FILE_EXISTS',
          `${path} already exists; not overwriting it`,
          { cause },
        );
      }
      throw fileError(`cannot write key file ${path}: ${reason(cause)}`, cause);
    }
    return;
  }

  // Overwrite: write a new 0600 file beside it and rename it over the old one, so the old
  // file's (possibly looser) mode never applies to the new key and no reader sees half a key.
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, data, { mode: OWNER_ONLY, flag: 'wx' });
    renameSync(temporary, path);
  } catch (cause) {
    try {
      unlinkSync(temporary);
    } catch {
      // It was never created, or already renamed.
    }
    throw fileError(`cannot write key file ${path}: ${reason(cause)}`, cause);
  }
}

/**
 * Reads a private key written by {@link savePrivateKey}, or any PEM (PKCS#8, SEC1, PKCS#1) or
 * private JWK file. The file is opened once and its mode checked on that same descriptor.
 *
 * @throws {DPoPClientError} `ERR_DPOP_CLIENT_KEY_FILE_PERMISSIONS` for a file group or others may
 *   access (unless `insecurePermissions: 'warn'`); `ERR_DPOP_CLIENT_KEY_FILE` when it cannot be
 *   read or holds no private key
 */
export function loadPrivateKey(path: string, options: LoadKeyOptions = {}): KeyObject {
  return loadKeyFile(path, options).key;
}

/** A key file's private key, and the `alg` a JWK file names (as {@link savePrivateKey} writes it). */
export interface LoadedKeyFile {
  readonly key: KeyObject;
  /** The JWK's `alg` member, when the file is a JWK that has one. */
  readonly alg: string | undefined;
}

/**
 * {@link loadPrivateKey}, also returning the `alg` member of a JWK file, so that a key saved for
 * `PS256` (say) signs `PS256` proofs again.
 */
export function loadKeyFile(path: string, options: LoadKeyOptions = {}): LoadedKeyFile {
  let text: string;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw fileError(`cannot read key file ${path}: ${reason(cause)}`, cause);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw fileError(`${path} is not a regular file`);
    checkPermissions(path, stat.mode, options.insecurePermissions ?? 'refuse');
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  return parsePrivateKey(text, path, options.passphrase);
}

function checkPermissions(path: string, mode: number, policy: 'refuse' | 'warn'): void {
  if (process.platform === 'win32' || (mode & GROUP_OR_OTHER) === 0) return;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  const message =
    `private key file ${path} is accessible by group or others (mode ${octal}); ` +
    `run: chmod 600 ${path}`;
  if (policy === 'warn') {
    process.emitWarning(message, { code: 'ERR_DPOP_CLIENT_KEY_FILE_PERMISSIONS' });
    return;
  }
  throw new DPoPClientError('ERR_DPOP_CLIENT_KEY_FILE_PERMISSIONS', message);
}

function parsePrivateKey(
  text: string,
  path: string,
  passphrase: string | undefined,
): LoadedKeyFile {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let jwk: Record<string, unknown>;
    try {
      jwk = JSON.parse(trimmed) as Record<string, unknown>;
    } catch (cause) {
      throw fileError(`${path} is not valid JSON`, cause);
    }
    if (typeof jwk !== 'object' || jwk === null || typeof jwk.d !== 'string') {
      throw fileError(`${path} does not hold a private JWK (no "d" member)`);
    }
    try {
      const key = createPrivateKey({ key: jwk, format: 'jwk' });
      return { key, alg: typeof jwk.alg === 'string' ? jwk.alg : undefined };
    } catch (cause) {
      throw fileError(`${path} does not hold a usable private JWK`, cause);
    }
  }
  if (trimmed.startsWith('-----BEGIN')) {
    if (/^-----BEGIN (?:RSA )?PUBLIC KEY-----/.test(trimmed)) {
      throw fileError(`${path} holds a public key, not a private key`);
    }
    try {
      return { key: createPrivateKey({ key: trimmed, format: 'pem', passphrase }), alg: undefined };
    } catch (cause) {
      if (!trimmed.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
        throw fileError(`${path} does not hold a usable PEM private key`, cause);
      }
      const why = passphrase === undefined ? 'a passphrase is needed' : 'wrong passphrase';
      throw fileError(`${path} is encrypted: ${why}`, cause);
    }
  }
  throw fileError(`${path} is neither a PEM nor a JWK key file`);
}
