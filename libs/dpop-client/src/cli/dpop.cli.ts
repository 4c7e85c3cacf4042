#!/usr/bin/env node
/**
 * `dpop`: the command-line face of the DPoP client. Proofs and thumbprints go to stdout alone,
 * so that `$(dpop proof …)` can be pasted into a curl command; everything for humans goes to
 * stderr. Exit codes: 0 success, 1 failure, 2 usage error.
 */
import type { AgentRegistration } from '../arcp/arcp.types.js';
import { ARCPClient } from '../arcp/arcp.client.js';
import {
  algorithm,
  noPositionals,
  parseArgs,
  required,
  text,
  UsageError,
} from './cli-args.util.js';
import {
  KEY_OPTIONS,
  loadKey,
  passphrase,
  SIGNING_KEY_OPTIONS,
  type CliIo,
} from './cli-keys.util.js';
import { accessToken, requiredAccessToken, TOKEN_OPTIONS } from './cli-token.util.js';
import { request } from './request.command.js';
import { rotate, ROTATE_USAGE } from './rotate.command.js';
import { DPoPClientError } from '../errors/client.errors.js';
import { generateKeyFile } from '../keys/node-generator.js';
import { DPOP_CLIENT_ALGORITHMS, DPoPGenerator } from '../proof/dpop-generator.js';

const USAGE = `Usage: dpop <command> [options]

Commands:
  keygen [--alg ALG] [--out FILE] [--force]
      Make a key pair and save its private key with mode 0600: a JWK file (which keeps ALG),
      or a PKCS#8 PEM file when FILE ends in .pem (default FILE: agent.jwk). Prints the key's
      thumbprint (jkt). ALG: ${DPOP_CLIENT_ALGORITHMS.join(', ')} (default EdDSA).
  thumbprint --key FILE
      Print the RFC 7638 thumbprint (jkt) of the key in FILE.
  jwk --key FILE
      Print the public JWK of the key in FILE.
  proof --key FILE METHOD URL [--token TOKEN | --token-file FILE] [--nonce NONCE] [--alg ALG]
      Print a new DPoP proof (and nothing else) for one request; with a token it carries ath.
      --alg: another algorithm the key suits (a PEM RSA key signs RS256 unless told PS256, …).
      An empty --token or --nonce is refused: leave the option out instead.
  register --url BASE --agent-id ID --agent-key KEY [--key FILE] [options]
      Run ARCP's three-phase registration: temp token, compliance validation, registration.
      Prints the agent id, jkt and access token as JSON. Options:
        --alg ALG                 algorithm of the one-off key made when --key is not given,
                                  or another one the --key suits
        --agent-type TYPE         default automation
        --name NAME               default: the agent id
        --endpoint URL            the agent's base URL (default http://localhost:8080)
        --capabilities A,B        default processing
        --context-brief TEXT      --owner NAME  --version X.Y.Z  --communication-mode MODE
        --timeout SECONDS         how long to wait for validation (default 300)
        --heartbeat               send one heartbeat after registering
      The agent key may also come from the ARCP_AGENT_KEY environment variable.
  heartbeat --url BASE --agent-id ID --key FILE --token TOKEN [--token-type DPoP|Bearer]
      Send one heartbeat with an access token and a proof from its key.
${ROTATE_USAGE}  request METHOD URL --key FILE [--token TOKEN | --token-file FILE] [--data DATA] [options]
      Send one request with a fresh proof (with ath when a token is given) and answer a
      use_dpop_nonce challenge itself: the server's nonce, a new proof, one retry. The answer's
      body goes to stdout, its status line to stderr; exit 1 when it is not 2xx. Options:
        --data DATA               the body (@FILE reads a file, @- stdin); sent as JSON unless
                                  a --header sets Content-Type
        --header 'NAME: VALUE'    an extra request header (repeatable)
        --token-type DPoP|Bearer  how the token is presented (default DPoP)
        --nonce NONCE             a nonce the server gave earlier, for the first proof
        --include                 also print the response headers (on stderr)
        --timeout SECONDS         give up after this long (default 30)

Key files are refused when group or others can read them (chmod 600 FILE).
--passphrase-env NAME reads the passphrase of an encrypted PEM key file from variable NAME.
Access tokens: --token TOKEN shows the token to anyone who can run ps. Wherever --token is taken,
--token-file FILE reads it from FILE instead (refused like a key file when group or others can
read it; one trailing newline is dropped), and with neither option the DPOP_TOKEN variable is
used when set (said on stderr). --token with --token-file is a usage error.
`;

async function keygen(argv: string[], io: CliIo): Promise<void> {
  const args = parseArgs(argv, {
    alg: 'string',
    out: 'string',
    force: 'boolean',
    'passphrase-env': 'string',
  });
  noPositionals(args);
  const alg = algorithm(text(args, 'alg'));
  const out = text(args, 'out') ?? 'agent.jwk';
  const generator = await generateKeyFile(out, {
    algorithm: alg,
    overwrite: args.options.has('force'),
    passphrase: passphrase(args, io),
  }).catch((error: unknown) => {
    // Say how to replace it, and what replacing costs: the key in it is gone for good.
    if (error instanceof DPoPClientError && error.code === 'ERR_DPOP_CLIENT_KEY_FILE_EXISTS') {
      throw new DPoPClientError(
        error.code,
        `${error.message} (--force replaces it, and the key it holds is lost)`,
        { cause: error },
      );
    }
    throw error;
  });
  io.stderr(`Wrote the ${alg} private key to ${out} (mode 0600). Its thumbprint (jkt):\n`);
  io.stdout(`${generator.jkt}\n`);
}

async function thumbprint(argv: string[], io: CliIo): Promise<void> {
  const args = parseArgs(argv, KEY_OPTIONS);
  noPositionals(args);
  io.stdout(`${(await loadKey(args, io)).jkt}\n`);
}

async function jwk(argv: string[], io: CliIo): Promise<void> {
  const args = parseArgs(argv, KEY_OPTIONS);
  noPositionals(args);
  io.stdout(`${JSON.stringify((await loadKey(args, io)).publicJwk)}\n`);
}

async function proof(argv: string[], io: CliIo): Promise<void> {
  const args = parseArgs(argv, { ...SIGNING_KEY_OPTIONS, ...TOKEN_OPTIONS, nonce: 'string' });
  const [method, url, extra] = args.positionals;
  if (method === undefined || url === undefined) throw new UsageError('proof needs METHOD and URL');
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
  const token = accessToken(args, io);
  const generator = await loadKey(args, io);
  const proof = await generator.createProof({
    method,
    url,
    accessToken: token,
    nonce: text(args, 'nonce'),
  });
  io.stdout(`${proof}\n`);
}

const REGISTER_OPTIONS = {
  ...KEY_OPTIONS,
  url: 'string',
  'agent-id': 'string',
  'agent-key': 'string',
  alg: 'string',
  'agent-type': 'string',
  name: 'string',
  endpoint: 'string',
  capabilities: 'string',
  'context-brief': 'string',
  owner: 'string',
  version: 'string',
  'communication-mode': 'string',
  timeout: 'string',
  heartbeat: 'boolean',
} as const;

async function register(argv: string[], io: CliIo): Promise<void> {
  const args = parseArgs(argv, REGISTER_OPTIONS);
  noPositionals(args);
  const baseUrl = required(args, 'url');
  const agentId = required(args, 'agent-id');
  const agentKey = text(args, 'agent-key') ?? io.env.ARCP_AGENT_KEY;
  if (agentKey === undefined || agentKey === '') {
    throw new UsageError('--agent-key (or ARCP_AGENT_KEY) is required');
  }
  const timeout = text(args, 'timeout') ?? '300';
  if (!/^\d+$/.test(timeout) || Number(timeout) === 0) {
    throw new UsageError('--timeout must be a whole number of seconds');
  }
  const mode = text(args, 'communication-mode') ?? 'remote';
  if (mode !== 'remote' && mode !== 'local' && mode !== 'hybrid') {
    throw new UsageError('--communication-mode must be remote, local or hybrid');
  }

  let generator: DPoPGenerator;
  if (args.options.has('key')) {
    // With a key file, --alg picks among the algorithms that key suits (RS256 or PS256, …).
    generator = await loadKey(args, io);
  } else {
    generator = await DPoPGenerator.generate(algorithm(text(args, 'alg')));
    io.stderr(
      `No --key: using a one-off ${generator.algorithm} key. ` +
        'The tokens are bound to it, and it is not saved.\n',
    );
  }

  const name = text(args, 'name') ?? agentId.slice(0, 32);
  const registration: AgentRegistration = {
    agent_id: agentId,
    name,
    agent_type: text(args, 'agent-type') ?? 'automation',
    endpoint: text(args, 'endpoint') ?? 'http://localhost:8080',
    capabilities: (text(args, 'capabilities') ?? 'processing')
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== ''),
    context_brief:
      text(args, 'context-brief') ?? `${name}: an agent registered with the nest-dpop CLI`,
    owner: text(args, 'owner') ?? 'dpop-cli',
    public_key: generator.publicKeyPem,
    metadata: { client: 'nest-dpop dpop-client CLI', dpop_alg: generator.algorithm },
    version: text(args, 'version') ?? '1.0.0',
    communication_mode: mode,
  };

  const client = new ARCPClient({ baseUrl, generator });
  io.stderr(`Agent ${agentId}, DPoP ${generator.algorithm} key, jkt ${generator.jkt}\n`);
  const result = await client.register({
    agent_key: agentKey,
    registration,
    validationTimeoutMs: Number(timeout) * 1000,
    onStep: (step) => {
      switch (step.phase) {
        case 'temp_token':
          io.stderr(`1/3 temp token issued (${step.response.token.type})\n`);
          break;
        case 'validation_pending':
          io.stderr(`2/3 validation ${step.response.validation_id ?? ''} pending…\n`);
          break;
        case 'validation_passed':
          io.stderr(`2/3 validation ${step.response.validation_id ?? ''} passed\n`);
          break;
        case 'registered':
          io.stderr(`3/3 registered: ${step.response.message ?? step.response.agent_id}\n`);
          break;
      }
    },
  });
  if (args.options.has('heartbeat')) {
    const beat = await client.heartbeat(agentId);
    const when = beat.last_seen ? ` at ${beat.last_seen}` : '';
    io.stderr(`heartbeat: ${beat.status ?? 'ok'}${when}\n`);
  }
  io.stdout(
    `${JSON.stringify(
      {
        agent_id: result.registration.agent_id,
        jkt: generator.jkt,
        token_type: result.accessToken.type,
        access_token: result.accessToken.value,
        expires_in: result.accessToken.expiresIn,
      },
      null,
      2,
    )}\n`,
  );
}

async function heartbeat(argv: string[], io: CliIo): Promise<void> {
  const args = parseArgs(argv, {
    ...SIGNING_KEY_OPTIONS,
    url: 'string',
    'agent-id': 'string',
    ...TOKEN_OPTIONS,
    'token-type': 'string',
  });
  noPositionals(args);
  const token = requiredAccessToken(args, io);
  const tokenType = text(args, 'token-type') ?? 'DPoP';
  if (tokenType !== 'DPoP' && tokenType !== 'Bearer') {
    throw new UsageError('--token-type must be DPoP or Bearer');
  }
  const client = new ARCPClient({
    baseUrl: required(args, 'url'),
    generator: await loadKey(args, io),
  });
  const answer = await client.heartbeat(required(args, 'agent-id'), {
    accessToken: { value: token, type: tokenType },
  });
  io.stdout(`${JSON.stringify(answer, null, 2)}\n`);
}

/** A command; one that returns a number picks the exit code (else 0). */
type Command = (argv: string[], io: CliIo) => void | number | Promise<void | number>;

const COMMANDS: Record<string, Command> = {
  keygen,
  thumbprint,
  jwk,
  proof,
  register,
  heartbeat,
  rotate,
  request,
};

/**
 * Runs one command.
 * @returns the exit code: 0 success, 1 failure, 2 usage error
 */
async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    (command === undefined ? io.stderr : io.stdout)(USAGE);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    io.stderr(`dpop: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(USAGE);
    return 0;
  }
  try {
    return (await run(rest, io)) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`dpop ${command}: ${error.message}\nRun "dpop help" for usage.\n`);
      return 2;
    }
    if (error instanceof DPoPClientError) {
      io.stderr(`dpop ${command}: ${error.message} [${error.code}]\n`);
      if (error.problem !== undefined) io.stderr(`${JSON.stringify(error.problem, null, 2)}\n`);
      return 1;
    }
    io.stderr(`dpop ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
  };
}

// This file is only ever run, never imported (the library's door is index.ts), so it needs no
// "am I the main module" test, which would also silently do nothing on an old Node.
// The package's engines: Node >= 20.19 (the consumer tests run this CLI on Node 20).
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`dpop: Node.js 20.19 or later is needed; this is ${process.version}\n`);
  process.exitCode = 1;
} else {
  // No top-level await: the package is built as CommonJS.
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
