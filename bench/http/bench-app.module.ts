import { verify, createPublicKey, type KeyObject } from 'node:crypto';
import {
  Controller,
  Get,
  Inject,
  Module,
  Req,
  UnauthorizedException,
  type DynamicModule,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DPoPGuard, DPoPModule, SkipDPoP, type DPoPAlgorithm, type JtiStore } from 'nest-dpop';
import { BENCH_ALG_HEADER, type PublicJwks } from './bench-http.constants.js';

/** A public key prepared once, with its `crypto.verify` arguments. */
interface FloorKey {
  readonly digest: 'sha256' | null;
  readonly key: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' };
}

const FLOOR_KEYS = Symbol('FLOOR_KEYS');

type BenchRequest = { headers: Record<string, string | string[] | undefined> };

/**
 * One trivial handler three times (paths in `BENCH_PATHS`): behind the guard; with
 * `@SkipDPoP()` as the baseline; and with `@SkipDPoP()` doing nothing but `crypto.verify` of the
 * proof with a key prepared at start-up, which is the floor measured inside the same server.
 * All take the request, so they pay the same parameter resolution.
 */
@Controller('bench')
export class BenchController {
  constructor(@Inject(FLOOR_KEYS) private readonly floorKeys: ReadonlyMap<string, FloorKey>) {}

  /** Needs a fresh, valid proof on every request (`required: true`). */
  @Get('agent')
  guarded(@Req() _request: BenchRequest): { ok: true } {
    return { ok: true };
  }

  /** The guard still runs (it is an APP_GUARD) but returns at the `@SkipDPoP()` check. */
  @SkipDPoP()
  @Get('agent-open')
  open(@Req() _request: BenchRequest): { ok: true } {
    return { ok: true };
  }

  /** The signature check alone: split the proof, decode the signature, `crypto.verify`. */
  @SkipDPoP()
  @Get('agent-floor')
  floor(@Req() request: BenchRequest): { ok: true } {
    const proof = request.headers.dpop as string;
    const floorKey = this.floorKeys.get(request.headers[BENCH_ALG_HEADER] as string);
    const dot = proof.lastIndexOf('.');
    const data = Buffer.from(proof.slice(0, dot), 'latin1');
    const signature = Buffer.from(proof.slice(dot + 1), 'base64url');
    if (floorKey === undefined || !verify(floorKey.digest, data, floorKey.key, signature)) {
      throw new UnauthorizedException();
    }
    return { ok: true };
  }
}

function floorKeys(jwks: PublicJwks): Map<string, FloorKey> {
  const keys = new Map<string, FloorKey>();
  for (const [alg, jwk] of Object.entries(jwks) as [DPoPAlgorithm, Record<string, unknown>][]) {
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    keys.set(alg, {
      digest: alg === 'EdDSA' ? null : 'sha256',
      key: alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key,
    });
  }
  return keys;
}

/**
 * The minimal app the HTTP benchmark serves: `DPoPModule` with `required: true`, `DPoPGuard` as
 * the APP_GUARD, as the module's documentation shows. Settings are the defaults but the store.
 */
@Module({})
export class BenchAppModule {
  /**
   * @param store the replay store; the default `InMemoryJtiStore` when omitted
   * @param jwks the agents' public keys, for the floor handler
   */
  static withStore(store: JtiStore | undefined, jwks: PublicJwks): DynamicModule {
    return {
      module: BenchAppModule,
      imports: [
        DPoPModule.forRoot({
          required: true,
          // Counted on every proof (its cost is in the figures), never reached by the load.
          proofBudget: { perClient: 1e9, perKey: 1e9 },
          ...(store !== undefined && { store }),
        }),
      ],
      controllers: [BenchController],
      providers: [
        { provide: APP_GUARD, useClass: DPoPGuard },
        { provide: FLOOR_KEYS, useValue: floorKeys(jwks) },
      ],
    };
  }
}
