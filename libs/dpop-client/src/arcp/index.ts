/**
 * `nest-dpop-client/arcp`: a client for ARCP's three-phase agent registration (temp token,
 * compliance validation, registration) and its heartbeat, on the DPoP proof generator and
 * `fetch` wrapper of `nest-dpop-client`. The wire types are the ARCP contract as this client
 * reads it (snake_case, unknown members kept).
 * @packageDocumentation
 */
export { ARCPClient } from './arcp.client.js';
export { issuedToken, tokenTypeOf } from './arcp-client.util.js';
export type {
  ARCPClientOptions,
  ARCPRequestOptions,
  ARCPResponse,
  RegisterOptions,
  ValidateComplianceOptions,
} from './arcp-client.options.js';
export type {
  AgentInfo,
  AgentRegistration,
  HeartbeatResponse,
  IssuedToken,
  RegistrationFlowResult,
  RegistrationResponse,
  RegistrationStep,
  TempTokenRequest,
  TempTokenResponse,
  TokenInput,
  ValidationIssue,
  ValidationRequest,
  ValidationStatusResponse,
  WithToken,
} from './arcp.types.js';
export { ARCPClientError, type ARCPClientErrorCode } from './arcp.errors.js';
export type { KeyRotationResult, RotateKeyOptions } from './arcp-key-rotation.js';
