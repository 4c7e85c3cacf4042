import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { DPoPGuard, DPoPModule, DPoPRequired, JKT } from 'nest-dpop';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';

/*
 * The fields of one GraphQL operation share one proof verification (a second would only find
 * the jti the first recorded). Each field's own route settings must still hold for that proof:
 * a field that requires a nonce, or allows fewer algorithms, is not served because an easier
 * field of the same operation verified the proof first.
 */

const NONCE_SECRET = 'graphql-route-settings-nonce-secret-0123456789';

@Resolver('Query')
class Fields {
  @DPoPRequired()
  @Query('open')
  open(@JKT() jkt: string): string {
    return `open ${jkt}`;
  }

  @DPoPRequired({ nonce: true })
  @Query('sensitive')
  sensitive(@JKT() jkt: string): string {
    return `sensitive ${jkt}`;
  }

  @DPoPRequired({ algorithms: ['ES256'] })
  @Query('es256only')
  es256only(@JKT() jkt: string): string {
    return `es256 ${jkt}`;
  }
}

@Module({
  imports: [
    DPoPModule.forRoot({ nonce: { secret: NONCE_SECRET, routesOnly: true } }),
    GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      typeDefs: 'type Query { open: String, sensitive: String, es256only: String }',
      path: '/graphql',
      playground: false,
      introspection: false,
    }),
  ],
  providers: [Fields, { provide: APP_GUARD, useClass: DPoPGuard }],
})
class RouteSettingsModule {}

interface Reply {
  data?: Record<string, unknown> | null;
  errors?: { path?: string[]; extensions?: { problem?: { code?: string } } }[];
}

describe('GraphQL: every field’s route settings hold for the shared proof', () => {
  let app: INestApplication;
  let url: string;
  let eddsa: TestKey;
  let es256: TestKey;

  beforeAll(async () => {
    eddsa = await makeKey('EdDSA');
    es256 = await makeKey('ES256');
    app = await NestFactory.create(RouteSettingsModule, { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/graphql`;
  });
  afterAll(async () => {
    await app?.close();
  });

  async function ask(query: string, key: TestKey, nonce?: string) {
    const proof = await makeProof(key, {
      htm: 'POST',
      htu: url,
      ...(nonce !== undefined && { claims: { nonce } }),
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', dpop: proof },
      body: JSON.stringify({ query }),
    });
    const reply = (await response.json()) as Reply;
    const codes = Object.fromEntries(
      (reply.errors ?? []).map((e) => [e.path?.[0] ?? '', e.extensions?.problem?.code]),
    );
    return { data: reply.data ?? {}, codes, nonce: response.headers.get('dpop-nonce') };
  }

  it('alone, each field applies its settings', async () => {
    expect((await ask('{ open }', eddsa)).data.open).toBe(`open ${eddsa.jkt}`);
    expect((await ask('{ sensitive }', eddsa)).codes).toEqual({ sensitive: 'ERR_DPOP_USE_NONCE' });
    expect((await ask('{ es256only }', eddsa)).codes).toEqual({
      es256only: 'ERR_DPOP_UNSUPPORTED_ALG',
    });
  });

  it('a field that requires a nonce is not served by a proof an open field accepted', async () => {
    const reply = await ask('{ open sensitive }', eddsa);
    expect(reply.data.open).toBe(`open ${eddsa.jkt}`);
    expect(reply.data.sensitive ?? null).toBeNull();
    expect(reply.codes).toEqual({ sensitive: 'ERR_DPOP_USE_NONCE' });
  });

  it('a field that allows fewer algorithms is not served by a proof another field accepted', async () => {
    const reply = await ask('{ open es256only }', eddsa);
    expect(reply.data.open).toBe(`open ${eddsa.jkt}`);
    expect(reply.data.es256only ?? null).toBeNull();
    expect(reply.codes).toEqual({ es256only: 'ERR_DPOP_UNSUPPORTED_ALG' });
  });

  it('a proof that meets every field’s settings serves them all (once, not a replay)', async () => {
    const first = await ask('{ sensitive }', es256);
    expect(first.nonce).not.toBeNull();
    const reply = await ask('{ open sensitive es256only }', es256, first.nonce!);
    expect(reply.codes).toEqual({});
    expect(reply.data).toEqual({
      open: `open ${es256.jkt}`,
      sensitive: `sensitive ${es256.jkt}`,
      es256only: `es256 ${es256.jkt}`,
    });
  });
});
