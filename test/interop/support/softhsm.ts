import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { DPoPGenerator } from 'nest-dpop-client';
import type * as Pkcs11Module from 'pkcs11js';

/**
 * A real PKCS#11 token: SoftHSM2 (Debian package `softhsm2`, installed by .ci/run), driven from
 * Node through `pkcs11js`. Keys are generated inside the token as sensitive and non-extractable;
 * the only thing that leaves it is a signature. The `DPoPGenerator` sees an external signer, as
 * it would see a KMS or a hardware HSM.
 */

const LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '1234';
/** PKCS#11 3.0 EdDSA mechanisms (pkcs11js has no names for them). */
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;
/** DER OIDs of the curves: prime256v1 and id-Ed25519 (RFC 8410). */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
const ED25519_PARAMS = Buffer.from('06032b6570', 'hex');

export interface SoftHsm {
  /** Proof generators whose private keys live in the token: ES256 (P-256) and EdDSA (Ed25519). */
  readonly generators: { ES256: DPoPGenerator; EdDSA: DPoPGenerator };
  /** Reads an attribute of a private key, as a thief with the PIN would try. */
  readPrivate(alg: 'ES256' | 'EdDSA', attribute: 'value' | 'extractable' | 'sensitive'): unknown;
  close(): void;
}

/** The point in CKA_EC_POINT: DER OCTET STRING around the raw point (as SoftHSM2 returns it). */
function unwrapOctetString(value: Buffer): Buffer {
  if (value[0] === 0x04 && value[1] === value.length - 2) return value.subarray(2);
  if (value[0] === 0x04 && value[1] === 0x81 && value[2] === value.length - 3) {
    return value.subarray(3);
  }
  return value;
}

export async function startSoftHsm(): Promise<SoftHsm> {
  const require = createRequire(import.meta.url);
  const pkcs11js = require('pkcs11js') as typeof Pkcs11Module;
  // The system's SoftHSM2 configuration (Debian: /etc/softhsm/softhsm2.conf): Jest gives each
  // test file a copy of process.env, so a SOFTHSM2_CONF set here would never reach the native
  // library. A token of our own, with a unique label, deleted again by close().
  const label = `nest-dpop-${process.pid}-${randomBytes(4).toString('hex')}`;
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', label, '--pin', PIN, '--so-pin', '5678'],
    { stdio: 'pipe' },
  );

  const pkcs11 = new pkcs11js.PKCS11();
  pkcs11.load(LIBRARY);
  pkcs11.C_Initialize();
  const slot = pkcs11
    .C_GetSlotList(true)
    .find((candidate) => pkcs11.C_GetTokenInfo(candidate).label.trim() === label);
  if (slot === undefined) throw new Error(`SoftHSM2: token ${label} not found`);
  const session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION);
  pkcs11.C_Login(session, pkcs11js.CKU_USER, PIN);

  const generate = (mechanism: number, keyType: number, params: Buffer, label: string) =>
    pkcs11.C_GenerateKeyPair(
      session,
      { mechanism },
      [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_VERIFY, value: true },
        { type: pkcs11js.CKA_EC_PARAMS, value: params },
        { type: pkcs11js.CKA_LABEL, value: label },
      ],
      [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SIGN, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_KEY_TYPE, value: keyType },
        { type: pkcs11js.CKA_LABEL, value: label },
      ],
    );
  const ec = generate(pkcs11js.CKM_EC_KEY_PAIR_GEN, pkcs11js.CKK_EC, P256_PARAMS, 'dpop-es256');
  const ed = generate(
    CKM_EC_EDWARDS_KEY_PAIR_GEN,
    0x40 /* CKK_EC_EDWARDS */,
    ED25519_PARAMS,
    'dpop-ed25519',
  );
  const point = (key: Buffer): Buffer => {
    const [attribute] = pkcs11.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_EC_POINT }]);
    return unwrapOctetString(attribute!.value);
  };

  // One session signs one thing at a time: calls are serialised.
  let queue: Promise<unknown> = Promise.resolve();
  const sign = (
    mechanism: number,
    key: Buffer,
    data: Buffer,
    size: number,
  ): Promise<Uint8Array> => {
    const run = queue.then(() => {
      pkcs11.C_SignInit(session, { mechanism }, key);
      return new Uint8Array(pkcs11.C_Sign(session, data, Buffer.alloc(size)));
    });
    queue = run.catch(() => undefined);
    return run;
  };

  const ecPoint = point(ec.publicKey); // 04 || x || y
  const es256 = DPoPGenerator.fromSigner({
    alg: 'ES256',
    publicJwk: {
      kty: 'EC',
      crv: 'P-256',
      x: ecPoint.subarray(1, 33).toString('base64url'),
      y: ecPoint.subarray(33, 65).toString('base64url'),
    },
    // CKM_ECDSA signs a digest and returns r || s (PKCS#11 §2.3.1): no DER here.
    sign: (input) =>
      sign(pkcs11js.CKM_ECDSA, ec.privateKey, createHash('sha256').update(input).digest(), 64),
  });
  const eddsa = DPoPGenerator.fromSigner({
    alg: 'EdDSA',
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: point(ed.publicKey).toString('base64url') },
    sign: (input) => sign(CKM_EDDSA, ed.privateKey, Buffer.from(input), 64),
  });

  const privateKeys = { ES256: ec.privateKey, EdDSA: ed.privateKey };
  // fromSigner signs a probe with each key and verifies it against the public JWK.
  const [ES256, EdDSA] = await Promise.all([es256, eddsa]);
  return {
    generators: { ES256, EdDSA },
    readPrivate(alg, attribute) {
      const type = {
        value: pkcs11js.CKA_VALUE,
        extractable: pkcs11js.CKA_EXTRACTABLE,
        sensitive: pkcs11js.CKA_SENSITIVE,
      }[attribute];
      const [read] = pkcs11.C_GetAttributeValue(session, privateKeys[alg], [{ type }]);
      const value = read!.value;
      return attribute === 'value' ? value : value[0] === 1;
    },
    close() {
      pkcs11.C_Logout(session);
      pkcs11.C_CloseSession(session);
      pkcs11.C_Finalize();
      execFileSync('softhsm2-util', ['--delete-token', '--token', label], { stdio: 'pipe' });
    },
  };
}
