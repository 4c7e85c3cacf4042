// Drives a running consumer app with proofs from nest-dpop-client: valid, replayed, missing.
import { strict as assert } from 'node:assert';
import { DPoPGenerator } from 'nest-dpop-client';

const base = process.argv[2]!.replace('[::1]', '127.0.0.1');
const url = `${base}/me`;
const key = await DPoPGenerator.generate('ES256');
const proof = key.createProof({ method: 'GET', url });

const ok = await fetch(url, { headers: { DPoP: proof } });
assert.equal(ok.status, 200, 'a valid proof is accepted');
assert.deepEqual(await ok.json(), { jkt: key.jkt }, '@JKT() is the key thumbprint');

const replay = await fetch(url, { headers: { DPoP: proof } });
assert.equal(replay.status, 401, 'a replayed proof is refused');
assert.match(replay.headers.get('content-type') ?? '', /^application\/problem\+json/);
assert.equal(((await replay.json()) as { code: string }).code, 'ERR_DPOP_REPLAY');

const none = await fetch(url);
assert.equal(none.status, 401, 'no proof is refused');
assert.match(none.headers.get('www-authenticate') ?? '', /^DPoP /);
assert.equal(((await none.json()) as { code: string }).code, 'ERR_DPOP_MISSING');
console.log('DRIVE OK 200 jkt, replay 401, no proof 401');
