/** The few parts of oidc-provider (which ships no types) that the peer benchmark uses. */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface Model {
    save(): Promise<string>;
  }
  interface GrantModel extends Model {
    addOIDCScope(scope: string): void;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    Client: { find(id: string): Promise<unknown> };
    Grant: new (properties: Record<string, unknown>) => GrantModel;
    AccessToken: new (properties: Record<string, unknown>) => Model;
  }
}
