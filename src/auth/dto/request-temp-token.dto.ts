import { IsString, Length } from 'class-validator';
import { IsIdentifier, Trim } from '../../common/dto.decorators.js';
import { NotAccepted } from '../../common/validators.js';

/** Body of `POST /auth/agent/request_temp_token`. */
export class RequestTempTokenDto {
  @IsIdentifier(1, 100)
  agent_id!: string;

  @IsIdentifier(1, 50)
  agent_type!: string;

  /** One of `AGENT_KEYS`. */
  @Trim()
  @IsString()
  @Length(10, 200)
  agent_key!: string;

  /** Refused: the key binding comes only from a verified DPoP proof. */
  @NotAccepted('the key binding comes only from the DPoP proof header')
  dpop_jkt?: unknown;
}
