import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import {
  ClientProxyFactory,
  MessagePattern,
  Transport,
  type ClientProxy,
} from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { DPoPBound, DPoPGuard, DPoPModule, SkipDPoP, type DPoPModuleOptions } from 'nest-dpop';
import { freePort } from '../support/redis-servers.js';

@Controller()
class MessagesController {
  @MessagePattern('plain')
  plain() {
    return 'plain ok';
  }

  @DPoPBound()
  @MessagePattern('bound')
  bound() {
    return 'bound ok';
  }

  @SkipDPoP()
  @MessagePattern('skipped')
  skipped() {
    return 'skipped ok';
  }
}

async function startMicroservice(
  options: DPoPModuleOptions,
): Promise<{ service: INestMicroservice; client: ClientProxy }> {
  @Module({
    imports: [DPoPModule.forRoot(options)],
    controllers: [MessagesController],
    providers: [{ provide: APP_GUARD, useClass: DPoPGuard }],
  })
  class MicroserviceTestModule {}
  const port = await freePort();
  const service = await NestFactory.createMicroservice(MicroserviceTestModule, {
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
    logger: false,
  });
  await service.listen();
  const client = ClientProxyFactory.create({
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port },
  });
  await client.connect();
  return { service, client };
}

const send = (client: ClientProxy, pattern: string) => lastValueFrom(client.send(pattern, {}));

describe.each([
  ['optional', { required: false }],
  ['required', { required: true }],
] as const)('finding 4: a real TCP microservice (rpc context), DPoP %s', (mode, options) => {
  let service: INestMicroservice;
  let client: ClientProxy;
  beforeAll(async () => {
    ({ service, client } = await startMicroservice(options));
  });
  afterAll(async () => {
    await client.close();
    await service.close();
  });

  it('refuses a @DPoPBound() message handler (the transport says Forbidden)', async () => {
    await expect(send(client, 'bound')).rejects.toMatchObject({ message: 'Forbidden resource' });
  });

  it('serves a @SkipDPoP() handler', async () => {
    await expect(send(client, 'skipped')).resolves.toBe('skipped ok');
  });

  if (mode === 'required') {
    it('refuses an unmarked handler when DPoP is required', async () => {
      await expect(send(client, 'plain')).rejects.toMatchObject({
        message: 'Forbidden resource',
      });
    });
  } else {
    it('serves an unmarked handler when DPoP is optional', async () => {
      await expect(send(client, 'plain')).resolves.toBe('plain ok');
    });
  }
});
