import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { DPoPBound, DPoPGuard, DPoPModule, JKT, type DPoPModuleOptions } from 'nest-dpop';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import { accessToken } from './guard-test.app.js';

@Resolver()
class AgentResolver {
  /** Bound: the key thumbprint of the verified proof, through @JKT() as in a controller. */
  @DPoPBound()
  @Query('me')
  me(@JKT() jkt: string): string {
    return jkt;
  }

  /** Not bound: a proof is checked if sent; the thumbprint or null. */
  @Query('open')
  open(@JKT() jkt: string | undefined): string | null {
    return jkt ?? null;
  }
}

const typeDefs = 'type Query { me: String, open: String }';

async function startGraphqlApp(options: DPoPModuleOptions): Promise<INestApplication> {
  @Module({
    imports: [
      DPoPModule.forRoot(options),
      GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        typeDefs,
        path: '/graphql',
        // Neither landing page nor introspection matter here.
        playground: false,
        introspection: false,
      }),
    ],
    providers: [AgentResolver, { provide: APP_GUARD, useClass: DPoPGuard }],
  })
  class GraphqlTestModule {}
  const app = await NestFactory.create(GraphqlTestModule, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

interface GraphqlReply {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

async function graphql(
  url: string,
  query: string,
  headers: Record<string, string> = {},
): Promise<GraphqlReply> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as GraphqlReply['body'];
  return { status: response.status, headers: response.headers, body };
}

/** The DPoP refusal inside a GraphQL error: its stable code. */
function dpopCode(reply: GraphqlReply): unknown {
  return (reply.body.errors?.[0]?.extensions?.problem as { code?: string } | undefined)?.code;
}

describe.each([
  ['optional', { required: false }],
  ['required', { required: true }],
] as const)('finding 4: GraphQL over HTTP (Apollo driver), DPoP %s', (_mode, options) => {
  let app: INestApplication;
  let url: string;
  let key: TestKey;
  let thief: TestKey;
  beforeAll(async () => {
    [key, thief] = await Promise.all([makeKey('ES256'), makeKey('EdDSA')]);
    app = await startGraphqlApp(options);
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/graphql`;
  });
  afterAll(() => app.close());

  it('@DPoPBound() resolver refuses a stolen bound token without a proof', async () => {
    const stolen = accessToken(key.jkt);
    for (const scheme of ['DPoP', 'Bearer']) {
      const reply = await graphql(url, '{ me }', { Authorization: `${scheme} ${stolen}` });
      expect(reply.body.data?.me ?? null).toBeNull();
      expect(dpopCode(reply)).toBe('ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF');
      expect(reply.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      // The challenge still reaches the HTTP client.
      expect(reply.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_dpop_proof"/);
    }
  });

  it('@DPoPBound() resolver refuses the stolen token with a proof from another key', async () => {
    const stolen = accessToken(key.jkt);
    const proof = await makeProof(thief, { htm: 'POST', htu: url, accessToken: stolen });
    const reply = await graphql(url, '{ me }', { Authorization: `DPoP ${stolen}`, DPoP: proof });
    expect(reply.body.data?.me ?? null).toBeNull();
    expect(dpopCode(reply)).toBe('ERR_DPOP_BINDING_MISMATCH');
  });

  it('@DPoPBound() resolver refuses no token at all', async () => {
    const reply = await graphql(url, '{ me }');
    expect(dpopCode(reply)).toBe('ERR_DPOP_TOKEN_NOT_BOUND');
  });

  it('@DPoPBound() resolver accepts a valid proof, and @JKT() gives its thumbprint', async () => {
    const token = accessToken(key.jkt);
    const proof = await makeProof(key, { htm: 'POST', htu: url, accessToken: token });
    const reply = await graphql(url, '{ me }', { Authorization: `DPoP ${token}`, DPoP: proof });
    expect(reply.body.errors).toBeUndefined();
    expect(reply.body.data).toEqual({ me: key.jkt });
  });

  it('a replayed proof is refused', async () => {
    const token = accessToken(key.jkt);
    const proof = await makeProof(key, { htm: 'POST', htu: url, accessToken: token });
    const headers = { Authorization: `DPoP ${token}`, DPoP: proof };
    expect((await graphql(url, '{ me }', headers)).body.data).toEqual({ me: key.jkt });
    expect(dpopCode(await graphql(url, '{ me }', headers))).toBe('ERR_DPOP_REPLAY');
  });

  it('one proof serves every guarded field of one operation (verified once per request)', async () => {
    const token = accessToken(key.jkt);
    const proof = await makeProof(key, { htm: 'POST', htu: url, accessToken: token });
    const reply = await graphql(url, '{ me open }', {
      Authorization: `DPoP ${token}`,
      DPoP: proof,
    });
    expect(reply.body.errors).toBeUndefined();
    expect(reply.body.data).toEqual({ me: key.jkt, open: key.jkt });
  });

  it('a proof for another URL is refused', async () => {
    const proof = await makeProof(key, { htm: 'POST', htu: 'http://other.example/graphql' });
    expect(dpopCode(await graphql(url, '{ open }', { DPoP: proof }))).toBe('ERR_DPOP_HTU_MISMATCH');
  });

  if (options.required) {
    it('required: an unbound resolver refuses a request without a proof', async () => {
      expect(dpopCode(await graphql(url, '{ open }'))).toBe('ERR_DPOP_MISSING');
    });
  } else {
    it('optional: an unbound resolver serves a request without a proof', async () => {
      expect((await graphql(url, '{ open }')).body).toEqual({ data: { open: null } });
    });
  }
});
