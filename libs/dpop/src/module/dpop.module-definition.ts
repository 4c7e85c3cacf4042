import { ConfigurableModuleBuilder, type ConfigurableModuleAsyncOptions } from '@nestjs/common';
import type { DPoPModuleOptions } from '../options/dpop-module-options.interface.js';

/**
 * `forRoot()` / `forRootAsync()` come from Nest's builder, as in `@nestjs/cache-manager`.
 * `isGlobal` (default `true`) makes the guard and store injectable everywhere.
 */
const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<DPoPModuleOptions>({ moduleName: 'DPoP' })
    .setClassMethodName('forRoot')
    // forRootAsync({ useClass / useExisting }) calls this method of a DPoPOptionsFactory.
    .setFactoryMethodName('createDPoPOptions')
    .setExtras({ isGlobal: true }, (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
    }))
    .build();

/** The base class of `DPoPModule`, with its `forRoot()` / `forRootAsync()`. */
export const ConfigurableDPoPModule = ConfigurableModuleClass;

/** Injection token of the options exactly as given to `forRoot()` / made by `forRootAsync()`. */
export const DPOP_MODULE_OPTIONS = MODULE_OPTIONS_TOKEN;

/**
 * What `DPoPModule.forRoot()` takes: {@link DPoPModuleOptions} plus `isGlobal`.
 * (The builder's `OPTIONS_TYPE` is only a type: reading it as a value throws.)
 */
export type DPoPModuleForRootOptions = typeof OPTIONS_TYPE;

/**
 * What `DPoPModule.forRootAsync()` takes: `useFactory`/`inject`/`imports` plus `isGlobal`.
 * (The builder's `typeof ASYNC_OPTIONS_TYPE`, spelled out so that it names only public types;
 * the check below fails the build if the two ever differ.)
 */
export type DPoPModuleAsyncOptions = ConfigurableModuleAsyncOptions<
  DPoPModuleOptions,
  'createDPoPOptions'
> & { isGlobal?: boolean };

// Both ways assignable: the spelled-out type is exactly the builder's (a type error if not).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type IsTrue<T extends true> = T;
type _Check = IsTrue<Same<DPoPModuleAsyncOptions, typeof ASYNC_OPTIONS_TYPE>>;
