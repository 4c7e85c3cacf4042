import { createHash } from 'node:crypto';
import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import {
  DPoPBound,
  DPoPGuard,
  DPoPModule,
  DPoPProofVerifier,
  DPoPTokenEndpoint,
  InMemoryJtiStore,
  JKT,
} from 'nest-dpop';

/** base64url(SHA-256(input)): `ath` (RFC 9449 §4.2) and key thumbprints (RFC 7638). */
const sha256Base64url = (input: string): string =>
  createHash('sha256').update(input, 'utf8').digest('base64url');

/**
 * The RFCs' own examples as fixtures, byte for byte, with the clock set to when they were made:
 * RFC 9449 §4.1's proof (Figure 4) and §6.1's thumbprint of its key, §7.1's proof (Figure 13)
 * with its access token, and RFC 7638 §3.1's thumbprint.
 */

/** RFC 9449 §4.1: a proof for `POST https://server.example.com/token`, iat 1562262616. */
const RFC9449_TOKEN_REQUEST_PROOF =
  'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19' +
  '.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ' +
  '.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg';
/** RFC 9449 §6.1: the `cnf.jkt` of that proof's key. */
const RFC9449_JKT = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';
/** RFC 9449 §7.1: the access token, and the proof for `GET …/protectedresource` (iat 1562262618). */
const RFC9449_ACCESS_TOKEN = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU';
const RFC9449_RESOURCE_PROOF =
  'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19' +
  '.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9' +
  '.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA';
const RFC9449_ATH = 'fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo';
/** RFC 7638 §3.1: an RSA key and its thumbprint. */
const RFC7638_JWK = {
  kty: 'RSA',
  n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
} as const;
const RFC7638_THUMBPRINT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

/** Two seconds after the §7.1 proof was made. */
const CLOCK = () => 1562262620_000;

describe('RFC examples, through the verifier', () => {
  const verifier = () => new DPoPProofVerifier(new InMemoryJtiStore(), { clock: CLOCK });

  it('RFC 9449 §4.1: the token-request proof verifies, with the §6.1 thumbprint; twice is a replay', async () => {
    const v = verifier();
    const input = {
      proof: RFC9449_TOKEN_REQUEST_PROOF,
      method: 'POST',
      url: 'https://server.example.com/token',
    };
    await expect(v.verify(input)).resolves.toEqual({
      jkt: RFC9449_JKT,
      jti: '-BwC3ESc6acc2lTc',
      htm: 'POST',
      htu: 'https://server.example.com/token',
      iat: 1562262616,
      alg: 'ES256',
      jwk: {
        kty: 'EC',
        crv: 'P-256',
        x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs',
        y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA',
      },
    });
    await expect(v.verify(input)).rejects.toMatchObject({ code: 'ERR_DPOP_REPLAY' });
  });

  it('RFC 9449 §7.1: the resource proof verifies with its access token and binding', async () => {
    expect(sha256Base64url(RFC9449_ACCESS_TOKEN)).toBe(RFC9449_ATH);
    const input = {
      proof: RFC9449_RESOURCE_PROOF,
      method: 'GET',
      url: 'https://resource.example.org/protectedresource',
      accessToken: RFC9449_ACCESS_TOKEN,
      expectedJkt: RFC9449_JKT,
    };
    await expect(verifier().verify(input)).resolves.toMatchObject({
      jkt: RFC9449_JKT,
      jti: 'e1j3V_bKic8-LAEB',
      iat: 1562262618,
      ath: RFC9449_ATH,
    });
    // The same proof with another token, or another binding, or later than its window: refused.
    await expect(
      verifier().verify({ ...input, accessToken: `${RFC9449_ACCESS_TOKEN}x` }),
    ).rejects.toMatchObject({ code: 'ERR_DPOP_ATH_MISMATCH' });
    await expect(
      verifier().verify({ ...input, expectedJkt: RFC7638_THUMBPRINT }),
    ).rejects.toMatchObject({ code: 'ERR_DPOP_BINDING_MISMATCH' });
    await expect(new DPoPProofVerifier(new InMemoryJtiStore()).verify(input)).rejects.toMatchObject(
      { code: 'ERR_DPOP_EXPIRED' },
    );
  });

  it('RFC 7638 §3.1: the thumbprint of its RSA key', () => {
    // The required members in lexicographic order, no whitespace (RFC 7638 §3.2), written here.
    const { e, kty, n } = RFC7638_JWK as { e: string; kty: string; n: string };
    expect(sha256Base64url(JSON.stringify({ e, kty, n }))).toBe(RFC7638_THUMBPRINT);
  });
});

@Controller()
class RfcController {
  @DPoPTokenEndpoint()
  @Post('token')
  @HttpCode(200)
  token(@JKT() jkt: string) {
    return { jkt };
  }

  @DPoPBound()
  @Get('protectedresource')
  resource(@JKT() jkt: string) {
    return { jkt };
  }
}

describe('RFC 9449 examples, through DPoPGuard over HTTP', () => {
  let app: INestApplication;
  beforeAll(async () => {
    @Module({
      imports: [
        DPoPModule.forRoot({
          clock: CLOCK,
          // The examples' two hosts: the authorization server and the resource server.
          requestUrl: (req) =>
            req.url === '/token'
              ? 'https://server.example.com/token'
              : `https://resource.example.org${req.url ?? ''}`,
          // The example token is opaque: its binding comes from "introspection".
          resolveTokenBinding: (token) =>
            token === RFC9449_ACCESS_TOKEN ? RFC9449_JKT : undefined,
        }),
      ],
      controllers: [RfcController],
      providers: [{ provide: APP_GUARD, useClass: DPoPGuard }],
    })
    class RfcModule {}
    const moduleRef = await Test.createTestingModule({ imports: [RfcModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('§4.1 at the token endpoint, then §7.1 at the protected resource', async () => {
    const token = await request(app.getHttpServer())
      .post('/token')
      .set('DPoP', RFC9449_TOKEN_REQUEST_PROOF);
    expect({ status: token.status, body: token.body }).toEqual({
      status: 200,
      body: { jkt: RFC9449_JKT },
    });
    const resource = await request(app.getHttpServer())
      .get('/protectedresource')
      .set('Authorization', `DPoP ${RFC9449_ACCESS_TOKEN}`)
      .set('DPoP', RFC9449_RESOURCE_PROOF);
    expect({ status: resource.status, body: resource.body }).toEqual({
      status: 200,
      body: { jkt: RFC9449_JKT },
    });
    // RFC 9449 §7.2: the same token and proof under the Bearer scheme are refused by default.
    const bearer = await request(app.getHttpServer())
      .get('/protectedresource')
      .set('Authorization', `Bearer ${RFC9449_ACCESS_TOKEN}`)
      .set('DPoP', RFC9449_RESOURCE_PROOF);
    expect({ status: bearer.status, code: bearer.body.code }).toEqual({
      status: 401,
      code: 'ERR_DPOP_SCHEME_MISMATCH',
    });
  });
});
