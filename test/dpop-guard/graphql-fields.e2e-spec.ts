import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { GraphQLModule, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { DPoPBound, DPoPGuard, DPoPModule, JKT, SkipDPoP, type DPoPModuleOptions } from 'nest-dpop';
import { makeKey, makeProof, type TestKey } from '../support/proofs.js';
import { accessToken } from './guard-test.app.js';

/*
 * Issue 15: @nestjs/graphql runs guards on @ResolveField() methods only with
 * `fieldResolverEnhancers: ['guards']`; without it a bound field was served with no token and
 * no proof. The module now refuses that start-up.
 */

const typeDefs = `
  type Agent { id: String, secret: String, note: String }
  type Query { agent: Agent, me: String }
`;

/** A root query open to all (skipped), so that only the field resolvers decide. */
@Resolver('Query')
class RootResolver {
  @SkipDPoP()
  @Query('agent')
  agent(): { id: string } {
    return { id: 'a1' };
  }
}

/** `secret` is bound at method level; `note` is not bound. */
@Resolver('Agent')
class MethodBoundFields {
  @DPoPBound()
  @ResolveField('secret')
  secret(@JKT() jkt: string): string {
    return `secret-for-${jkt}`;
  }

  @ResolveField('note')
  note(): string {
    return 'open note';
  }
}

/** Every field resolver of the class is bound. */
@DPoPBound()
@Resolver('Agent')
class ClassBoundFields {
  @ResolveField('secret')
  secret(): string {
    return 'class-bound secret';
  }
}

/** Under `required: true`, a field resolver that is not skipped needs a proof too. */
@Resolver('Agent')
class PlainFields {
  @ResolveField('note')
  note(): string {
    return 'plain note';
  }

  @SkipDPoP()
  @ResolveField('id')
  id(): string {
    return 'a1';
  }
}

/** Field resolvers all marked @SkipDPoP(): nothing to guard. */
@Resolver('Agent')
class SkippedFields {
  @SkipDPoP()
  @ResolveField('note')
  note(): string {
    return 'skipped note';
  }
}

interface Setup {
  dpop: DPoPModuleOptions;
  resolvers: (new () => object)[];
  enhancers?: ('guards' | 'filters' | 'interceptors')[];
  introspection?: boolean;
  withGraphql?: boolean;
  /** GraphQLModule.forRootAsync (options made by a factory) instead of forRoot. */
  async?: boolean;
}

function graphqlOptions(setup: Setup): Omit<ApolloDriverConfig, 'driver'> {
  return {
    typeDefs,
    path: '/graphql',
    playground: false,
    introspection: setup.introspection ?? false,
    ...(setup.enhancers !== undefined && { fieldResolverEnhancers: setup.enhancers }),
  };
}

async function start(setup: Setup): Promise<INestApplication> {
  @Module({
    imports: [
      DPoPModule.forRoot(setup.dpop),
      ...(setup.withGraphql === false
        ? []
        : [
            setup.async === true
              ? GraphQLModule.forRootAsync<ApolloDriverConfig>({
                  driver: ApolloDriver,
                  useFactory: () => Promise.resolve(graphqlOptions(setup)),
                })
              : GraphQLModule.forRoot<ApolloDriverConfig>({
                  driver: ApolloDriver,
                  ...graphqlOptions(setup),
                }),
          ]),
    ],
    providers: [RootResolver, ...setup.resolvers, { provide: APP_GUARD, useClass: DPoPGuard }],
  })
  class FieldsTestModule {}
  const app = await NestFactory.create(FieldsTestModule, { logger: false, abortOnError: false });
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}

/** The start-up error's message; an app that starts anyway is kept for afterEach to close. */
let started: INestApplication | undefined;
async function refusal(setup: Setup): Promise<string> {
  try {
    started = await start(setup);
  } catch (error) {
    return (error as Error).message;
  }
  const served = await graphql(urlOf(started), '{ agent { secret note } }');
  return `started, and served ${JSON.stringify(served)}`;
}

function urlOf(app: INestApplication): string {
  return `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/graphql`;
}

interface Reply {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function graphql(url: string, query: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as Reply;
}

function dpopCode(reply: Reply): unknown {
  return (reply.errors?.[0]?.extensions?.problem as { code?: string } | undefined)?.code;
}

describe('issue 15: GraphQL field resolvers and the DPoP guard', () => {
  let key: TestKey;
  let app: INestApplication | undefined;
  beforeAll(async () => {
    key = await makeKey('ES256');
  });
  afterEach(async () => {
    await app?.close();
    await started?.close();
    app = started = undefined;
  });

  describe('start-up is refused without fieldResolverEnhancers: guards', () => {
    it('a @DPoPBound() field resolver: the message names the class, the field and the fix', async () => {
      const message = await refusal({ dpop: { required: false }, resolvers: [MethodBoundFields] });
      expect(message).toMatch(
        /^DPoP: GraphQL field resolvers MethodBoundFields\.secret \(field Agent\.secret, @DPoPBound\(\)\) need a DPoP check/,
      );
      expect(message).toMatch(/fieldResolverEnhancers: \['guards'\]/);
      // The unbound field of the same class is not named.
      expect(message).not.toMatch(/note/);
    });

    it('a class-level @DPoPBound() on a resolver with field resolvers', async () => {
      expect(await refusal({ dpop: { required: false }, resolvers: [ClassBoundFields] })).toMatch(
        /ClassBoundFields\.secret .*@DPoPBound\(\)/,
      );
    });

    it('required: true and a field resolver not marked @SkipDPoP()', async () => {
      const message = await refusal({ dpop: { required: true }, resolvers: [PlainFields] });
      expect(message).toMatch(/PlainFields\.note .*required: true/);
      expect(message).not.toMatch(/PlainFields\.id/);
    });

    it('GraphQLModule.forRootAsync: the options its factory made are read', async () => {
      expect(
        await refusal({ dpop: { required: false }, resolvers: [MethodBoundFields], async: true }),
      ).toMatch(/MethodBoundFields\.secret .*fieldResolverEnhancers: \['guards'\]/);
      app = await start({
        dpop: { required: false },
        resolvers: [MethodBoundFields],
        enhancers: ['guards'],
        async: true,
      });
      expect(dpopCode(await graphql(urlOf(app), '{ agent { secret } }'))).toBe(
        'ERR_DPOP_TOKEN_NOT_BOUND',
      );
    });

    it('enhancers other than guards do not count', async () => {
      expect(
        await refusal({
          dpop: { required: false },
          resolvers: [MethodBoundFields],
          enhancers: ['filters', 'interceptors'],
        }),
      ).toMatch(/fieldResolverEnhancers/);
    });
  });

  describe('start-up is allowed when nothing would be served unchecked', () => {
    it('optional DPoP and unbound field resolvers', async () => {
      app = await start({ dpop: { required: false }, resolvers: [PlainFields] });
      const reply = await graphql(urlOf(app), '{ agent { id note } }');
      expect(reply).toEqual({ data: { agent: { id: 'a1', note: 'plain note' } } });
    });

    it('required: true and only @SkipDPoP() field resolvers', async () => {
      app = await start({ dpop: { required: true }, resolvers: [SkippedFields] });
      const reply = await graphql(urlOf(app), '{ agent { note } }');
      expect(reply).toEqual({ data: { agent: { note: 'skipped note' } } });
    });

    it('DPoP disabled: the guard checks nothing anywhere, so neither does the start-up', async () => {
      app = await start({ dpop: { enabled: false }, resolvers: [MethodBoundFields] });
      expect(app).toBeDefined();
    });

    it('no GraphQL module in the application', async () => {
      app = await start({
        dpop: { required: true },
        resolvers: [MethodBoundFields],
        withGraphql: false,
      });
      expect(app).toBeDefined();
    });
  });

  describe.each([
    ['optional', { required: false }],
    ['required', { required: true }],
  ] as const)("with fieldResolverEnhancers: ['guards'], DPoP %s", (_mode, dpop) => {
    it('a @DPoPBound() field is refused without a proof, even under an open root query', async () => {
      app = await start({ dpop, resolvers: [MethodBoundFields], enhancers: ['guards'] });
      const url = urlOf(app);
      const stolen = accessToken(key.jkt);
      const reply = await graphql(url, '{ agent { secret } }', { Authorization: `DPoP ${stolen}` });
      expect(reply.data?.agent).toEqual({ secret: null });
      expect(dpopCode(reply)).toBe('ERR_DPOP_BOUND_TOKEN_WITHOUT_PROOF');
      expect(dpopCode(await graphql(url, '{ agent { secret } }'))).toBe('ERR_DPOP_TOKEN_NOT_BOUND');
    });

    it('a @DPoPBound() field is served with a valid proof', async () => {
      app = await start({ dpop, resolvers: [MethodBoundFields], enhancers: ['guards'] });
      const url = urlOf(app);
      const token = accessToken(key.jkt);
      const proof = await makeProof(key, { htm: 'POST', htu: url, accessToken: token });
      const reply = await graphql(url, '{ agent { secret note } }', {
        Authorization: `DPoP ${token}`,
        DPoP: proof,
      });
      expect(reply.errors).toBeUndefined();
      expect(reply.data).toEqual({ agent: { secret: `secret-for-${key.jkt}`, note: 'open note' } });
    });

    it('a class-level @DPoPBound() covers the field resolvers', async () => {
      app = await start({ dpop, resolvers: [ClassBoundFields], enhancers: ['guards'] });
      const url = urlOf(app);
      expect(dpopCode(await graphql(url, '{ agent { secret } }'))).toBe('ERR_DPOP_TOKEN_NOT_BOUND');
      const token = accessToken(key.jkt);
      const proof = await makeProof(key, { htm: 'POST', htu: url, accessToken: token });
      const reply = await graphql(url, '{ agent { secret } }', {
        Authorization: `DPoP ${token}`,
        DPoP: proof,
      });
      expect(reply.data).toEqual({ agent: { secret: 'class-bound secret' } });
    });

    if (dpop.required) {
      it('required: an unbound field resolver needs a proof; a @SkipDPoP() one does not', async () => {
        app = await start({ dpop, resolvers: [PlainFields], enhancers: ['guards'] });
        const url = urlOf(app);
        expect(dpopCode(await graphql(url, '{ agent { note } }'))).toBe('ERR_DPOP_MISSING');
        expect(await graphql(url, '{ agent { id } }')).toEqual({ data: { agent: { id: 'a1' } } });
        const proof = await makeProof(key, { htm: 'POST', htu: url });
        expect(await graphql(url, '{ agent { note } }', { DPoP: proof })).toEqual({
          data: { agent: { note: 'plain note' } },
        });
      });
    }
  });

  describe('introspection under required: true (decision: answered, the schema is not bound data)', () => {
    it('an introspection query reaches no resolver, so it is answered without a proof', async () => {
      app = await start({
        dpop: { required: true },
        resolvers: [PlainFields],
        enhancers: ['guards'],
        introspection: true,
      });
      const reply = await graphql(urlOf(app), '{ __schema { queryType { name } } __typename }');
      expect(reply).toEqual({
        data: { __schema: { queryType: { name: 'Query' } }, __typename: 'Query' },
      });
    });

    it('an application that wants the schema hidden turns introspection off (Apollo: off in production)', async () => {
      app = await start({
        dpop: { required: true },
        resolvers: [PlainFields],
        enhancers: ['guards'],
        introspection: false,
      });
      const reply = await graphql(urlOf(app), '{ __schema { queryType { name } } }');
      expect(reply.data ?? undefined).toBeUndefined();
      expect(reply.errors?.[0]?.message).toMatch(/introspection/i);
    });
  });
});
