// Load order matters under Jest ESM: NestJS 12 is ESM only, and CommonJS packages that
// require() it (such as @nestjs-modules/ioredis) resolve only once these are loaded.
import 'reflect-metadata';
import '@nestjs/common';
import '@nestjs/core';
// @nestjs-modules/ioredis require()s @nestjs/terminus (12 is ESM only, see package.json overrides).
import '@nestjs/terminus';
