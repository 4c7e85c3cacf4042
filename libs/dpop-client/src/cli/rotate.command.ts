import { ARCPClient } from '../arcp/arcp.client.js';
import { keyFileFormat } from '../keys/key-store.js';
import { generateKeyFile, loadGenerator } from '../keys/node-generator.js';
import {
  algorithm,
  noPositionals,
  parseArgs,
  required,
  text,
  UsageError,
} from './cli-args.util.js';
import { passphrase, type CliIo } from './cli-keys.util.js';
import { requiredAccessToken, TOKEN_OPTIONS } from './cli-token.util.js';

/**
 * `dpop rotate`: moves a registered agent to a new key. It writes the new key file (never over
 * an existing file; an encrypted PEM whenever a passphrase is given, as it must be for an
 * encrypted old key), waits with the old key and token until the server no longer counts the
 * agent alive, registers through the three phases with the new key, and checks that the server
 * now refuses the old token. The old key file is left where it is, for the user to delete.
 */
export const ROTATE_USAGE = `  rotate --url BASE --agent-id ID --key OLD_FILE --token TOKEN --new-key NEW_FILE
         --agent-key KEY [options]   (--token-file FILE or DPOP_TOKEN instead of --token TOKEN)
      Move a registered agent to a new key: write NEW_FILE (mode 0600; refused if it exists),
      wait until the agent no longer counts as alive (stop its heartbeats first: ARCP registers
      an agent_id again only after its heartbeat timeout), register it again through the three
      phases with the new key, and check that its old token is now refused. The registration
      is the agent's current record (read with the old key and TOKEN), public_key the new key's.
      Prints the agent id, new jkt and access token as JSON; OLD_FILE is left for you to delete.
      Options:
        --alg ALG                 the new key's algorithm (default: the old key's)
        --token-type DPoP|Bearer  how TOKEN is presented (default DPoP)
        --wait SECONDS            how long to wait for the agent to lapse (default 300)
        --timeout SECONDS         how long to wait for validation (default 300)
        --heartbeat               send one heartbeat with the new key afterwards
      The agent key may also come from ARCP_AGENT_KEY. --passphrase-env NAME decrypts OLD_FILE
      and encrypts NEW_FILE with the same passphrase, so NEW_FILE must then be a .pem file
      (another name is a usage error: the new key is never written less protected).
`;

function seconds(value: string, option: string): number {
  if (!/^\d+$/.test(value) || Number(value) === 0) {
    throw new UsageError(`--${option} must be a whole number of seconds`);
  }
  return Number(value) * 1000;
}

export async function rotate(argv: string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, {
    key: 'string',
    'passphrase-env': 'string',
    url: 'string',
    'agent-id': 'string',
    ...TOKEN_OPTIONS,
    'token-type': 'string',
    'new-key': 'string',
    'agent-key': 'string',
    alg: 'string',
    wait: 'string',
    timeout: 'string',
    heartbeat: 'boolean',
  });
  noPositionals(args);
  const baseUrl = required(args, 'url');
  const agentId = required(args, 'agent-id');
  const token = requiredAccessToken(args, io);
  const newFile = required(args, 'new-key');
  const tokenType = text(args, 'token-type') ?? 'DPoP';
  if (tokenType !== 'DPoP' && tokenType !== 'Bearer') {
    throw new UsageError('--token-type must be DPoP or Bearer');
  }
  const agentKey = text(args, 'agent-key') ?? io.env.ARCP_AGENT_KEY;
  if (agentKey === undefined || agentKey === '') {
    throw new UsageError('--agent-key (or ARCP_AGENT_KEY) is required');
  }
  const waitMs = seconds(text(args, 'wait') ?? '300', 'wait');
  const timeoutMs = seconds(text(args, 'timeout') ?? '300', 'timeout');
  const alg = text(args, 'alg');
  if (alg !== undefined) algorithm(alg);
  const oldFile = required(args, 'key');
  if (oldFile === newFile) throw new UsageError('--new-key must be another file');

  // A passphrase (which an encrypted OLD_FILE needs) encrypts NEW_FILE too: rotating must not
  // quietly leave the agent's key in clear at rest where it was encrypted. Only PEM can be
  // encrypted, so another NEW_FILE is refused, before anything is read or written. There is
  // deliberately no flag to downgrade: decrypting a key is a separate, deliberate act.
  const secret = passphrase(args, io);
  if (secret !== undefined && keyFileFormat(newFile) !== 'pem') {
    throw new UsageError(
      `--new-key ${newFile} cannot be encrypted: with --passphrase-env, NEW_FILE must be a ` +
        '.pem file (written encrypted with the same passphrase)',
    );
  }

  // The old key loads (and the new algorithm is known) before anything is written.
  const old = await loadGenerator(oldFile, { passphrase: secret });
  const next = await generateKeyFile(newFile, {
    algorithm: alg === undefined ? old.algorithm : algorithm(alg),
    passphrase: secret,
  });
  const protection =
    secret === undefined
      ? ''
      : `, encrypted with the passphrase in ${text(args, 'passphrase-env')}`;
  io.stderr(
    `Wrote the new ${next.algorithm} private key to ${newFile} (mode 0600${protection}), ` +
      `jkt ${next.jkt}\n`,
  );

  const client = new ARCPClient({ baseUrl, generator: old });
  let waited = false;
  let result;
  try {
    result = await client.rotateKey(next, {
      agent_id: agentId,
      agent_key: agentKey,
      accessToken: { value: token, type: tokenType },
      lapseTimeoutMs: waitMs,
      validationTimeoutMs: timeoutMs,
      onWaiting: (agent) => {
        if (waited) return;
        waited = true;
        io.stderr(
          `Agent ${agentId} is alive (last heartbeat ${String(agent.last_seen)}); waiting for ` +
            'its heartbeat timeout (stop its heartbeats with the old key)…\n',
        );
      },
      onStep: (step) => {
        if (step.phase === 'registered') {
          io.stderr(`Registered ${agentId} again with the new key (old jkt ${old.jkt})\n`);
        }
      },
    });
  } catch (error) {
    io.stderr(
      `The new key in ${newFile} is kept, though the rotation did not complete; delete it ` +
        'before trying again, or pass another --new-key.\n',
    );
    throw error;
  }

  const refusal = result.oldTokenRefusal;
  if (refusal === undefined) {
    io.stderr('WARNING: the server still accepts the old token; treat the old key as live.\n');
  } else {
    const errorCode = refusal.problem?.error_code;
    const code = typeof errorCode === 'string' ? errorCode : refusal.code;
    io.stderr(`The old token is now refused: ${refusal.status ?? ''} ${code}\n`);
  }
  if (args.options.has('heartbeat')) {
    const beat = await result.client.heartbeat(agentId);
    io.stderr(`heartbeat with the new key: ${beat.status ?? 'ok'}\n`);
  }
  io.stderr(`The old key file ${oldFile} is no longer needed: delete it.\n`);
  io.stdout(
    `${JSON.stringify(
      {
        agent_id: agentId,
        jkt: next.jkt,
        previous_jkt: old.jkt,
        token_type: result.accessToken.type,
        access_token: result.accessToken.value,
        expires_in: result.accessToken.expiresIn,
      },
      null,
      2,
    )}\n`,
  );
  return refusal === undefined ? 1 : 0;
}
