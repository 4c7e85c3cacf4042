import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsOptional,
  IsString,
  Length,
  MaxLength,
} from 'class-validator';
import {
  IsCommunicationMode,
  IsEndpointUrl,
  IsIdentifier,
  Trim,
} from '../../common/dto.decorators.js';
import { NotAccepted } from '../../common/validators.js';
import type { CommunicationMode } from '../../storage/validation-store.interface.js';

/** Body of `POST /auth/agent/validate_compliance` (ARCP's `ValidationRequest`). */
export class ValidateComplianceDto {
  /** Must be the temp token's `agent_id`. */
  @IsIdentifier(3, 64)
  agent_id!: string;

  @IsIdentifier(2, 50)
  agent_type!: string;

  /** The agent's base URL; `GET <endpoint>/health` is called when `ARCP_ENDPOINT_CHECK=true`. */
  @IsEndpointUrl()
  endpoint!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(64)
  @IsString({ each: true })
  @Length(1, 100, { each: true })
  capabilities!: string[];

  @IsCommunicationMode()
  communication_mode?: CommunicationMode;

  @IsOptional()
  @Trim()
  @IsString()
  @MaxLength(32)
  version?: string;

  /** Refused (ARCP took it from the body: a client could bind tokens to any key it liked). */
  @NotAccepted('the key binding comes only from the DPoP proof header')
  dpop_jkt?: unknown;

  /** Refused: mTLS binding is not supported by this server. */
  @NotAccepted('mTLS binding is not supported')
  mtls_spki?: unknown;
}
