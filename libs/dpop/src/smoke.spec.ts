import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { Module } from '@nestjs/common';
import { RedisModule } from '@nestjs-modules/ioredis';
import { PLACEHOLDER } from '@app/dpop';

@Module({})
class M {}

describe('smoke', () => {
  it('boots', async () => {
    const ref = await Test.createTestingModule({ imports: [M, RedisModule] }).compile();
    expect(ref).toBeDefined();
    expect(PLACEHOLDER).toBe(1);
  });
});
