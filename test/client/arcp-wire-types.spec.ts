import { describe, expect, it } from '@jest/globals';
import type { AgentRegistration, TempTokenRequest, ValidationRequest } from 'nest-dpop-client/arcp';
import type { RegisterAgentDto } from '../../src/agents/dto/register-agent.dto.js';
import type { RequestTempTokenDto } from '../../src/auth/dto/request-temp-token.dto.js';
import type { ValidateComplianceDto } from '../../src/auth/dto/validate-compliance.dto.js';

/**
 * The ARCP request bodies are defined twice, once per package, on purpose: the app's DTOs (with
 * their validation) and the client's wire types (`nest-dpop-client/arcp`), since a published
 * package cannot import the app. This file keeps the two honest: `npm run typecheck` fails when
 * a member is required on one side and not the other.
 */

/** The names of the members a type requires (index signatures left out). */
type RequiredKeys<T> = keyof {
  [K in keyof T as string extends K ? never : {} extends Pick<T, K> ? never : K]: T[K];
};
/** The names of every declared member, optional or not. */
type KnownKeys<T> = keyof { [K in keyof T as string extends K ? never : K]: T[K] };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// The client requires what the app requires, no more, no less.
const sameRequired: [
  Same<RequiredKeys<TempTokenRequest>, RequiredKeys<RequestTempTokenDto>>,
  Same<RequiredKeys<ValidationRequest>, RequiredKeys<ValidateComplianceDto>>,
  Same<RequiredKeys<AgentRegistration>, RequiredKeys<RegisterAgentDto>>,
] = [true, true, true];
// Every member the client names exists in the app's contract.
const knownToApp: [
  Same<Exclude<KnownKeys<TempTokenRequest>, KnownKeys<RequestTempTokenDto>>, never>,
  Same<Exclude<KnownKeys<ValidationRequest>, KnownKeys<ValidateComplianceDto>>, never>,
  Same<Exclude<KnownKeys<AgentRegistration>, KnownKeys<RegisterAgentDto>>, never>,
] = [true, true, true];

describe('ARCP wire types', () => {
  it('agree between the app and nest-dpop-client/arcp (checked by the type checker)', () => {
    expect([...sameRequired, ...knownToApp]).toEqual([true, true, true, true, true, true]);
  });
});
