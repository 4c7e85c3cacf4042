import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, Length, Matches } from 'class-validator';
import {
  IsCommunicationMode,
  IsEndpointUrl,
  IsIdentifier,
  Trim,
} from '../../common/dto.decorators.js';
import { IsAgentMetadata, NotAccepted } from '../../common/validators.js';
import type { CommunicationMode } from '../../storage/validation-store.interface.js';

/** Body of `POST /agents/register` (ARCP's `AgentRegistration`). */
export class RegisterAgentDto {
  @Trim()
  @IsString()
  @Length(2, 32)
  name!: string;

  /** Must be the validated token's `agent_id`. */
  @IsIdentifier(3, 100)
  agent_id!: string;

  /** One of `ALLOWED_AGENT_TYPES` (case-insensitive), and the type that passed validation. */
  @IsIdentifier(2, 50)
  agent_type!: string;

  /** Must be the endpoint that passed validation. */
  @IsEndpointUrl()
  endpoint!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @Length(2, 100, { each: true })
  @Matches(/^[A-Za-z0-9_\-\s]+$/, {
    each: true,
    message: 'each value in $property may contain only letters, digits, spaces, "_" and "-"',
  })
  capabilities!: string[];

  @Trim()
  @IsString()
  @Length(10, 1000)
  context_brief!: string;

  @Trim()
  @IsString()
  @Length(2, 50)
  owner!: string;

  /** The agent's own public key (PEM, base64, hex or OpenSSH form); stored, not used here. */
  @Trim()
  @IsString()
  @Length(32, 1024)
  @Matches(/^[A-Za-z0-9+/=\s_.:@-]+$/, {
    message: '$property must be a PEM, base64, hex or OpenSSH key',
  })
  public_key!: string;

  @IsAgentMetadata()
  metadata!: Record<string, unknown>;

  @Trim()
  @IsString()
  @Matches(/^\d+\.\d+\.\d+(-[A-Za-z0-9]+)?$/, {
    message: '$property must be a semantic version such as 1.0.0',
  })
  version!: string;

  @IsCommunicationMode(true)
  communication_mode!: CommunicationMode;

  /** Refused: the key binding comes only from DPoP proofs. */
  @NotAccepted('the key binding comes only from the DPoP proof header')
  dpop_jkt?: unknown;
}
